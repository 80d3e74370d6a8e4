/**
 * Mail delivery: SMTP through nodemailer when SMTP_URL is set; otherwise a
 * development transport that writes the whole message (links included) to
 * the log, so a developer can follow a password-reset link without a mail
 * server. Production refuses to run without SMTP (see preflight).
 */
import nodemailer from "nodemailer";
import type { Logger } from "../log/index.js";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface MailTransport {
  readonly kind: "smtp" | "log";
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export function createMailTransport(options: { smtpUrl: string | undefined; from: string; log: Logger }): MailTransport {
  const { smtpUrl, from, log } = options;
  if (smtpUrl === undefined) {
    return {
      kind: "log",
      async send(message) {
        log.info({ mail: { from, to: message.to, subject: message.subject, text: message.text } }, "development mail (no SMTP_URL): message not sent");
      },
      close() {},
    };
  }
  const transporter = nodemailer.createTransport(smtpUrl, { from });
  return {
    kind: "smtp",
    async send(message) {
      await transporter.sendMail({ from, to: message.to, subject: message.subject, text: message.text });
    },
    close() {
      transporter.close();
    },
  };
}
