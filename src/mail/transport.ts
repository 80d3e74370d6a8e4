/**
 * Mail delivery: SMTP through nodemailer when SMTP_URL is set; otherwise a
 * development transport that writes the whole message (links included) to
 * the log, so a developer can follow a password-reset link without a mail
 * server. Production refuses to run without SMTP (see preflight).
 *
 * SMTP sends go through the `smtp` upstream (src/resilience): a deadline per
 * send (its AbortSignal makes nodemailer close the connection) and a circuit
 * breaker. A send is not idempotent at the SMTP level (a retry after a lost
 * answer may deliver twice), so it is never retried here: the outbox retries
 * on its own, persisted schedule. Connection errors and 4xx replies
 * ("try again later") are failures; a 5xx reply refuses this message only
 * (unknown mailbox) and does not count.
 */
import nodemailer, { type SendMailOptions } from "nodemailer";
import type { Logger } from "../log/index.js";
import { createUpstream, type Upstream, type UpstreamOptions } from "../resilience/index.js";

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

export const SMTP_UPSTREAM = "smtp";

/** A permanent (5xx) SMTP reply: the server refused this message, and is working. */
function isPermanentReply(err: unknown): boolean {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === "number" && code >= 500 && code < 600;
}

/** Settings of the `smtp` upstream: 10 s per send, breaker after 5 consecutive failures for 30 s, no retries. */
export function smtpUpstreamOptions(): UpstreamOptions {
  return {
    timeoutMs: 10_000,
    retries: 0,
    breaker: { kind: "consecutive", failures: 5, halfOpenAfterMs: 30_000 },
    isFailure: (err) => !isPermanentReply(err),
  };
}

export interface MailTransportOptions {
  smtpUrl: string | undefined;
  from: string;
  log: Logger;
  /** The `smtp` upstream (e.g. `runtime.upstreams.ensure(SMTP_UPSTREAM, smtpUpstreamOptions())`); default a private one with the same settings. */
  upstream?: Upstream;
}

export function createMailTransport(options: MailTransportOptions): MailTransport {
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
  const upstream = options.upstream ?? createUpstream(SMTP_UPSTREAM, { ...smtpUpstreamOptions(), log });
  return {
    kind: "smtp",
    async send(message) {
      await upstream.execute(
        // nodemailer 10 honours `signal` (closes the connection); @types/nodemailer 8 predates it.
        (signal) => transporter.sendMail({ from, to: message.to, subject: message.subject, text: message.text, signal } as SendMailOptions),
        { idempotent: false },
      );
    },
    close() {
      transporter.close();
    },
  };
}
