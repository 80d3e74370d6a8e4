/**
 * Threat: account enumeration through registration — an attacker submits an
 * address to `POST /v1/auth/register` and learns from the answer (status,
 * body, headers) whether that person has an account. And email-verification
 * bypass: a verification link that works twice, outlives its expiry or can
 * be read from a database dump; a login refused for an unverified email
 * before the password was checked (which would itself reveal the account).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdmin } from "../../src/auth/index.js";
import { ManualClock } from "../../src/runtime/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, credentials } from "../helpers/api.js";
import { testModes } from "../helpers/modes.js";

interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Mails delivered to `email` (the development transport logs each message it sends). */
function mailsTo(t: TestApp, email: string): Mail[] {
  return t.logs
    .records()
    .map((r) => r.mail as Mail | undefined)
    .filter((m): m is Mail => m?.to === email);
}

async function waitForMail(t: TestApp, email: string, match: (m: Mail) => boolean): Promise<Mail> {
  const end = Date.now() + 10_000;
  for (;;) {
    const found = mailsTo(t, email).find(match);
    if (found) return found;
    if (Date.now() > end) throw new Error(`no matching mail for ${email}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const verificationToken = (m: Mail) => decodeURIComponent(/verify-email\?token=([A-Za-z0-9_%-]+)/.exec(m.text)![1]!);
const isVerification = (m: Mail) => m.text.includes("verify-email?token=");
const isNotice = (m: Mail) => m.text.includes("already has an account");

/** The part of an answer an observer can compare: status, headers and body, minus the per-request trace id. */
function observable(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  const { "x-request-id": _id, date: _date, ...headers } = res.headers;
  const { traceId: _trace, ...body } = JSON.parse(res.body) as Record<string, unknown>;
  return { status: res.statusCode, headers, body };
}

let ip = 0;
/**
 * POSTs from an address of its own each time, so the per-IP rate-limit
 * counters (and their headers) do not differ between the answers compared.
 */
async function post(t: TestApp, url: string, body: unknown) {
  const res = await t.app.inject({ method: "POST", url, payload: body as object, remoteAddress: `198.51.100.${(ip++ % 250) + 1}` });
  const json = JSON.parse(res.body) as { data?: any; code?: string };
  return Object.assign(res, { data: json.data, code: json.code });
}
const register = (t: TestApp, body: { email: string; password: string }) => post(t, "/v1/auth/register", body);

describe.each(testModes())("registration without account enumeration (%s)", (mode) => {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp(mode, { clock, env: { RAMPART_PUBLIC_URL: "https://id.example.com" } });
  });
  afterAll(() => t.close());

  it("an existing address gets the answer a new one gets; its owner is mailed a notice and their password is untouched", async () => {
    const owner = credentials();
    expect((await register(t, owner)).statusCode).toBe(202);

    const attacker = { email: owner.email.toUpperCase(), password: "the attacker's own passphrase" };
    const existing = await register(t, attacker);
    const fresh = await register(t, credentials());
    expect(observable(existing)).toEqual(observable(fresh));
    expect(existing.statusCode).toBe(202);
    expect(JSON.parse(existing.body)).toMatchObject({ success: true, data: { accepted: true } });

    const notice = await waitForMail(t, owner.email, isNotice);
    expect(notice.text).toContain("https://id.example.com/forgot-password");
    expect(isVerification(notice)).toBe(false);
    // The account is the owner's still: the attacker's password does not log in, the owner's does.
    expect((await post(t, "/v1/auth/login", attacker)).code).toBe("INVALID_CREDENTIALS");
    expect((await post(t, "/v1/auth/login", owner)).statusCode).toBe(200);
  });

  it("an existing address costs the work a new one costs: one argon2 hash, one queued mail, one audit entry", async () => {
    // Answering an existing address before hashing would set the two apart by a whole
    // hash in time; the work is counted rather than timed (timing is noise on a shared CI machine).
    const owner = credentials();
    expect((await register(t, owner)).statusCode).toBe(202);
    const db = t.runtime.db.kysely;
    const count = async () => ({
      hashes: t.app.identity.hasher.stats().completed.hash,
      mails: Number((await db.selectFrom("rampart_outbox").select(db.fn.countAll().as("n")).executeTakeFirstOrThrow()).n),
      audit: Number((await db.selectFrom("rampart_audit_log").select(db.fn.countAll().as("n")).executeTakeFirstOrThrow()).n),
    });
    const delta = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.keys(a).map((k) => [k, b[k]! - a[k]!]));
    const c0 = await count();
    await register(t, { email: owner.email, password: "someone else's passphrase here" });
    const c1 = await count();
    await register(t, credentials());
    const c2 = await count();
    expect(delta(c0, c1)).toEqual({ hashes: 1, mails: 1, audit: 1 });
    expect(delta(c1, c2)).toEqual(delta(c0, c1));
  });

  it("a weak password is refused whatever the address (the policy does not depend on the account)", async () => {
    const owner = credentials();
    await register(t, owner);
    const existing = await register(t, { email: owner.email, password: "password123456" });
    const fresh = await register(t, { email: credentials().email, password: "password123456" });
    expect(existing.statusCode).toBe(400);
    expect(observable(existing)).toEqual(observable(fresh));
  });

  it("the verification link verifies once, spends every other link of the account, and is stored only as a hash", async () => {
    const user = credentials();
    await register(t, user);
    const first = verificationToken(await waitForMail(t, user.email, isVerification));
    clock.advance(61_000);
    expect((await post(t, "/v1/auth/email/resend", { email: user.email })).statusCode).toBe(202);
    const second = verificationToken(await waitForMail(t, user.email, (m) => isVerification(m) && verificationToken(m) !== first));

    const rows = await t.runtime.db.kysely.selectFrom("rampart_email_verifications").selectAll().execute();
    const dump = JSON.stringify([rows, await t.runtime.db.kysely.selectFrom("rampart_outbox").selectAll().execute()]);
    for (const token of [first, second]) {
      expect(dump).not.toContain(token);
      expect(rows.map((r) => r.token_hash)).toContain(createHash("sha256").update(token).digest("base64url"));
    }

    const before = await post(t, "/v1/auth/login", user);
    expect(before.data.user.emailVerified).toBe(false);
    const ok = await post(t, "/v1/auth/email/verify", { token: first });
    expect(ok.statusCode).toBe(200);
    expect(ok.data).toEqual({ verified: true });
    for (const token of [first, second]) {
      const again = await post(t, "/v1/auth/email/verify", { token });
      expect(again.statusCode).toBe(400);
      expect(again.code).toBe("VALIDATION_FAILED");
    }
    const me = await call(t.app, { method: "GET", url: "/v1/me", token: before.data.accessToken });
    expect(me.data.user.emailVerified).toBe(true);
  });

  it("a verification link expires", async () => {
    const user = credentials();
    await register(t, user);
    const token = verificationToken(await waitForMail(t, user.email, isVerification));
    clock.advance(t.runtime.config.emailVerificationTtlHours * 3_600_000 + 1_000);
    const late = await post(t, "/v1/auth/email/verify", { token });
    expect(late.statusCode).toBe(400);
    const login = await post(t, "/v1/auth/login", user);
    expect(login.data.user.emailVerified).toBe(false);
  });

  it("resend answers the same 202 for every address and mails only an unverified account", async () => {
    const user = credentials();
    await register(t, user);
    await waitForMail(t, user.email, isVerification);
    clock.advance(61_000);
    const nobody = `nobody.${Date.now()}@example.com`;
    const known = await post(t, "/v1/auth/email/resend", { email: user.email });
    const unknown = await post(t, "/v1/auth/email/resend", { email: nobody });
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(known.data).toEqual(unknown.data);
    await waitForMail(t, user.email, (m) => isVerification(m) && mailsTo(t, user.email).filter(isVerification).length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(mailsTo(t, nobody)).toHaveLength(0);
  });
});

describe.each(testModes())("login with AUTH_REQUIRE_EMAIL_VERIFICATION (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode, { env: { AUTH_REQUIRE_EMAIL_VERIFICATION: "true" } });
  });
  afterAll(() => t.close());

  it("refuses an unverified account only after a correct password, and logs in once verified", async () => {
    const user = credentials();
    expect((await register(t, user)).statusCode).toBe(202);
    const wrong = await post(t, "/v1/auth/login", { email: user.email, password: "not the right password at all" });
    const unknown = await post(t, "/v1/auth/login", { email: `nobody.${Date.now()}@example.com`, password: "not the right password at all" });
    // Without the password, an unverified account looks like any other: the same 401.
    expect(wrong.statusCode).toBe(401);
    expect(wrong.code).toBe("INVALID_CREDENTIALS");
    expect(observable(wrong).body).toEqual(observable(unknown).body);

    const refused = await post(t, "/v1/auth/login", user);
    expect(refused.statusCode).toBe(403);
    expect(refused.code).toBe("EMAIL_NOT_VERIFIED");
    expect(JSON.stringify(refused.json())).not.toMatch(/accessToken|refreshToken|mfaToken/);

    const token = verificationToken(await waitForMail(t, user.email, isVerification));
    expect((await post(t, "/v1/auth/email/verify", { token })).statusCode).toBe(200);
    const login = await post(t, "/v1/auth/login", user);
    expect(login.statusCode).toBe(200);
    expect(login.data.user.emailVerified).toBe(true);
  });

  it("an account an operator created (create-admin, bootstrap) counts as verified", async () => {
    const admin = credentials();
    await createAdmin(t.app.identity, admin.email, admin.password);
    const login = await post(t, "/v1/auth/login", admin);
    expect(login.statusCode).toBe(200);
    expect(login.data.user).toMatchObject({ roles: ["admin", "user"], emailVerified: true });
  });
});
