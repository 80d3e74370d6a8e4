/**
 * Password login and the MFA second step.
 *
 * Enumeration and timing: an unknown email runs a dummy argon2 verification
 * at the same parameters and goes through the same lockout counter (keyed by
 * the email's blind index), so a wrong password and an unknown email give the
 * same 401 INVALID_CREDENTIALS in the same time.
 */
import { createHash, randomBytes } from "node:crypto";
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import type { ClientInfo } from "../sessions.js";
import { normalizeBackupCode, hashBackupCode, verifyTotpOnce } from "../totp/index.js";
import { retryAfterSeconds, startSession, type TokenPair } from "./common.js";
import { decryptTotpSecret } from "./mfa.js";

export type LoginResult = TokenPair | { mfaRequired: true; mfaToken: string };

const challengeKey = (mfaToken: string) => `mfa:challenge:${createHash("sha256").update(mfaToken).digest("base64url")}`;

export async function login(identity: Identity, input: { email: string; password: string }, client: ClientInfo): Promise<LoginResult> {
  const { users, hasher, lockout, runtime } = identity;
  const account = users.emailKey(input.email);
  const decision = await lockout.begin(account);
  if (!decision.allowed) {
    if (decision.lockedNow) await runtime.events.emit("auth.locked", { actor: { type: "anonymous" }, target: `account:${account.slice(0, 16)}` });
    throw new RampartError("ACCOUNT_LOCKED", { headers: { "retry-after": retryAfterSeconds(decision.retryAfterMs) } });
  }
  const user = await users.findByEmail(runtime.db.kysely, input.email);
  const verified = user?.password_hash && user.status !== "erased" ? await hasher.verify(user.password_hash, input.password) : await hasher.dummyVerify(input.password);
  if (!user || !verified.ok) {
    const lockedNow = await lockout.fail(account, decision.attempt);
    await runtime.events.emit("auth.login.failed", { actor: { type: "anonymous" }, ...(user ? { target: `user:${user.id}` } : {}), data: { attempt: decision.attempt } });
    if (lockedNow) await runtime.events.emit("auth.locked", { actor: { type: "anonymous" }, ...(user ? { target: `user:${user.id}` } : {}) });
    throw new RampartError("INVALID_CREDENTIALS");
  }
  await lockout.succeed(account);
  if (user.status !== "active") throw new RampartError("FORBIDDEN", { message: "This account is disabled." });
  if (verified.needsRehash) {
    // Parameters changed since this hash was made: upgrade it now that we hold the password.
    const upgraded = await hasher.hash(input.password);
    await runtime.db.kysely.updateTable("rampart_users").set({ password_hash: upgraded }).where("id", "=", user.id).where("password_hash", "=", user.password_hash!).execute();
  }
  if (user.mfa_enabled) {
    const mfaToken = randomBytes(32).toString("base64url");
    await runtime.kv.set(challengeKey(mfaToken), JSON.stringify({ userId: user.id, client }), { ttlMs: runtime.config.mfaChallengeTtlSeconds * 1000 });
    return { mfaRequired: true, mfaToken };
  }
  const pair = await startSession(identity, user.id, client, false);
  await runtime.events.emit("auth.login.succeeded", { actor: { type: "user", id: user.id }, target: `user:${user.id}` });
  return pair;
}

/** Second step: a TOTP code (single use per time step) or a backup code (single use). */
export async function verifyMfa(identity: Identity, input: { mfaToken: string; code: string }): Promise<TokenPair> {
  const { runtime, mfaAttempts } = identity;
  const key = challengeKey(input.mfaToken);
  const raw = await runtime.kv.get(key);
  if (!raw) throw new RampartError("UNAUTHENTICATED", { message: "The MFA challenge is unknown or expired; log in again." });
  const challenge = JSON.parse(raw) as { userId: string; client: ClientInfo };
  const attempt = await mfaAttempts.attempt(key);
  const fail = async (reason: string): Promise<never> => {
    await runtime.events.emit("mfa.failed", { actor: { type: "user", id: challenge.userId }, target: `user:${challenge.userId}`, data: { reason } });
    throw new RampartError("INVALID_MFA_CODE");
  };
  if (!attempt.allowed) {
    await runtime.kv.del(key);
    await fail("attempts-exhausted");
  }
  const ok = await checkSecondFactor(identity, challenge.userId, input.code);
  if (!ok) await fail("wrong-code");
  // The challenge is single use: of two concurrent successes only one gets a session.
  if ((await runtime.kv.consume(key)) === null) await fail("challenge-spent");
  const pair = await startSession(identity, challenge.userId, challenge.client, true);
  await runtime.events.emit("auth.login.succeeded", { actor: { type: "user", id: challenge.userId }, target: `user:${challenge.userId}`, data: { mfa: true } });
  return pair;
}

/**
 * Checks a TOTP code (6 digits) or a backup code for a user with MFA on. A
 * TOTP step is claimed with a compare-and-set; a backup code is spent with a
 * conditional update — replays, sequential or concurrent, fail.
 */
export async function checkSecondFactor(identity: Identity, userId: string, code: string): Promise<boolean> {
  const { runtime, usedSteps } = identity;
  const user = await runtime.db.kysely.selectFrom("rampart_users").select(["id", "mfa_enabled", "totp_secret_enc"]).where("id", "=", userId).executeTakeFirst();
  if (!user?.mfa_enabled || !user.totp_secret_enc) return false;
  const trimmed = code.replace(/\s+/g, "");
  if (/^\d{6}$/.test(trimmed)) {
    const secret = await decryptTotpSecret(identity, userId, user.totp_secret_enc);
    return (await verifyTotpOnce({ secret, code: trimmed, nowMs: runtime.clock.now(), userId, usedSteps })).ok;
  }
  if (normalizeBackupCode(code) === null) return false;
  const hash = hashBackupCode(code);
  if (hash === null) return false;
  return runtime.db.kysely.transaction().execute(async (trx) => {
    const spent = await trx
      .updateTable("rampart_backup_codes")
      .set({ used_at: new Date(runtime.clock.now()) })
      .where("user_id", "=", userId)
      .where("code_hash", "=", hash)
      .where("used_at", "is", null)
      .executeTakeFirst();
    if (spent.numUpdatedRows !== 1n) return false;
    await runtime.events.emit("mfa.backup-code.used", { actor: { type: "user", id: userId }, target: `user:${userId}` }, trx);
    return true;
  });
}
