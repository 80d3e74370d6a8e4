/**
 * Password login and the MFA second step.
 *
 * Enumeration and timing: an unknown email runs a dummy argon2 verification
 * at the same parameters and goes through the same lockout counter (keyed by
 * the email's blind index), so a wrong password and an unknown email give the
 * same 401 INVALID_CREDENTIALS in the same time. Both checks go through the
 * re-authentication core (src/auth/reauth.ts): the password counts toward the
 * account lockout, the code toward the user's second-factor lockout, on top of
 * the per-challenge attempt cap kept here.
 */
import { createHash, randomBytes } from "node:crypto";
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { checkCode, checkPassword } from "../reauth.js";
import type { ClientInfo } from "../sessions.js";
import { startSession, type TokenPair } from "./common.js";
import { requireVerifiedEmail } from "./email-verification.js";

export type LoginResult = TokenPair | { mfaRequired: true; mfaToken: string };

const challengeKey = (mfaToken: string) => `mfa:challenge:${createHash("sha256").update(mfaToken).digest("base64url")}`;

export async function login(identity: Identity, input: { email: string; password: string }, client: ClientInfo): Promise<LoginResult> {
  const { users, runtime, credentials } = identity;
  const account = users.emailKey(input.email);
  const user = await users.findByEmail(runtime.db.kysely, input.email);
  const subject = user ? { id: user.id, passwordHash: user.password_hash, status: user.status } : undefined;
  const verified = await checkPassword(identity, account, subject, input.password, { actor: { type: "anonymous" }, action: "login" });
  // checkPassword refuses an unknown or erased account; the row is here.
  if (!user) throw new RampartError("INVALID_CREDENTIALS");
  if (user.status !== "active") throw new RampartError("FORBIDDEN", { message: "This account is disabled." });
  requireVerifiedEmail(identity, user);
  if (verified.needsRehash && user.password_hash) {
    // Parameters changed since this hash was made: upgrade it now that we hold the password.
    await credentials.upgradeHash(user.id, user.password_hash, await identity.hasher.hash(input.password));
  }
  if (user.mfa_enabled) {
    const mfaToken = randomBytes(32).toString("base64url");
    // The challenge remembers which password it proved, so a reset or change made meanwhile ends it.
    const pw = user.password_changed_at?.getTime() ?? null;
    await runtime.kv.set(challengeKey(mfaToken), JSON.stringify({ userId: user.id, client, pw }), { ttlMs: runtime.config.mfaChallengeTtlSeconds * 1000 });
    return { mfaRequired: true, mfaToken };
  }
  const pair = await startSession(identity, user.id, client, false);
  await runtime.events.emit("auth.login.succeeded", { actor: { type: "user", id: user.id }, target: `user:${user.id}` });
  return pair;
}

/**
 * Second step: a TOTP code (single use per time step) or a backup code
 * (single use). Capped per challenge (MFA_MAX_ATTEMPTS) and per user across
 * challenges and endpoints (MFA_USER_MAX_FAILURES, then 423 MFA_LOCKED).
 */
export async function verifyMfa(identity: Identity, input: { mfaToken: string; code: string }): Promise<TokenPair> {
  const { runtime, mfaAttempts } = identity;
  const key = challengeKey(input.mfaToken);
  const raw = await runtime.kv.get(key);
  if (!raw) throw new RampartError("UNAUTHENTICATED", { message: "The MFA challenge is unknown or expired; log in again." });
  const challenge = JSON.parse(raw) as { userId: string; client: ClientInfo; pw: number | null };
  // Recovery ends pending challenges too: the password proved at step one must still be the
  // account's, and the account still active (reset, change, disabling or erasure since then).
  const account = await identity.users.findById(runtime.db.kysely, challenge.userId);
  if (!account || account.status !== "active" || (account.password_changed_at?.getTime() ?? null) !== challenge.pw) {
    await runtime.kv.del(key);
    throw new RampartError("UNAUTHENTICATED", { message: "The MFA challenge is unknown or expired; log in again." });
  }
  const fail = async (reason: string): Promise<never> => {
    await runtime.events.emit("mfa.failed", { actor: { type: "user", id: challenge.userId }, target: `user:${challenge.userId}`, data: { reason } });
    throw new RampartError("INVALID_MFA_CODE");
  };
  if (!(await mfaAttempts.attempt(key)).allowed) {
    await runtime.kv.del(key);
    await fail("attempts-exhausted");
  }
  await checkCode(identity, challenge.userId, input.code, { action: "login" });
  // The challenge is single use: of two concurrent successes only one gets a session.
  if ((await runtime.kv.consume(key)) === null) await fail("challenge-spent");
  const pair = await startSession(identity, challenge.userId, challenge.client, true);
  await runtime.events.emit("auth.login.succeeded", { actor: { type: "user", id: challenge.userId }, target: `user:${challenge.userId}`, data: { mfa: true } });
  return pair;
}
