/**
 * Password reset over real SMTP: the mail goes through the outbox to an
 * smtp-server peer; the link comes from RAMPART_PUBLIC_URL (never the Host
 * header); the token works once, within its lifetime, and ends every session.
 */
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { testModes } from "../helpers/modes.js";

interface Received {
  to: string[];
  raw: string;
}

async function startSmtp(): Promise<{ port: number; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (d: Buffer) => (raw += d.toString()));
      stream.on("end", () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as { port: number }).port;
  return { port, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The reset mail, not the verification link mailed at registration to the same address. */
const isResetMail = (m: Received) => m.raw.includes("Subject: Reset your password");

async function waitFor<T>(fn: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(testModes())("password reset (%s)", (mode) => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeAll(async () => {
    smtp = await startSmtp();
    t = await createTestApp(mode, { env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, RAMPART_PUBLIC_URL: "https://id.example.com" } });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it("forgot answers 202 with the same body for known and unknown emails, and mails only the known one", async () => {
    const u = await registerAndLogin(t.app);
    const traceId = `forgot-${Date.now()}`;
    const known = await call(t.app, { method: "POST", url: "/v1/auth/password/forgot", body: { email: u.email }, headers: { host: "evil.example.net", "x-request-id": traceId } });
    const unknown = await call(t.app, { method: "POST", url: "/v1/auth/password/forgot", body: { email: `nobody.${Date.now()}@example.com` } });
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(known.data).toEqual(unknown.data);
    const mail = await waitFor(() => smtp.received.find((m) => m.to.includes(u.email) && isResetMail(m)));
    expect(mail.raw).toContain("https://id.example.com/reset-password?token=");
    expect(mail.raw).not.toContain("evil.example.net");
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.received.filter((m) => m.to.some((a) => a.startsWith("nobody.")))).toHaveLength(0);
    // Delivered in the background, logged under the trace of the request that queued it, which the row keeps
    // for a delivery on another instance or a retry after the request ended.
    await waitFor(() => t.logs.records().find((r) => r.msg === "mail sent" && r.traceId === traceId));
    expect(await t.runtime.db.kysely.selectFrom("rampart_outbox").select("id").where("trace_id", "=", traceId).execute()).toHaveLength(1);
    // The outbox keeps no copy of the message once sent.
    const rows = await t.runtime.db.kysely.selectFrom("rampart_outbox").select(["message_enc", "sent_at"]).execute();
    expect(rows.every((r) => r.message_enc === null && r.sent_at !== null)).toBe(true);
  });

  it("the token resets once, ends every session, and the old password stops working", async () => {
    const u = await registerAndLogin(t.app);
    smtp.received.length = 0;
    await call(t.app, { method: "POST", url: "/v1/auth/password/forgot", body: { email: u.email } });
    const mail = await waitFor(() => smtp.received.find((m) => m.to.includes(u.email) && isResetMail(m)));
    // The body may be quoted-printable: undo soft line breaks and =XX escapes first.
    const body = mail.raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    const token = decodeURIComponent(/reset-password\?token=([A-Za-z0-9_%-]+)/.exec(body)![1]!);
    const weak = await call(t.app, { method: "POST", url: "/v1/auth/password/reset", body: { token, newPassword: "password123456" } });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().details.fields[0].path).toBe("body.newPassword");
    const newPassword = "a brand new passphrase for testing";
    const reset = await call(t.app, { method: "POST", url: "/v1/auth/password/reset", body: { token, newPassword } });
    expect(reset.statusCode).toBe(200);
    expect(reset.data.sessionsRevoked).toBe(1);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: u.accessToken })).code).toBe("TOKEN_REVOKED");
    expect((await call(t.app, { method: "POST", url: "/v1/auth/password/reset", body: { token, newPassword: "yet another passphrase here" } })).statusCode).toBe(400);
    expect((await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } })).code).toBe("INVALID_CREDENTIALS");
    expect((await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: newPassword } })).statusCode).toBe(200);
  });

  it("password change needs the current password and ends the other sessions, keeping this one", async () => {
    const u = await registerAndLogin(t.app);
    const other = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } });
    const wrong = await call(t.app, { method: "POST", url: "/v1/auth/password/change", token: u.accessToken, body: { currentPassword: "not my password at all", newPassword: "another good passphrase" } });
    expect(wrong.code).toBe("INVALID_CREDENTIALS");
    const changed = await call(t.app, { method: "POST", url: "/v1/auth/password/change", token: u.accessToken, body: { currentPassword: u.password, newPassword: "another good passphrase" } });
    expect(changed.statusCode).toBe(200);
    expect(changed.data.sessionsRevoked).toBe(1);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: u.accessToken })).statusCode).toBe(200);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: other.data.accessToken })).code).toBe("TOKEN_REVOKED");
  });
});
