/**
 * The one re-authentication path. Every check of a password or a second
 * factor — at login and when a sensitive action (erasure, disabling MFA,
 * new backup codes, password change, write-scoped API keys, an admin acting
 * on their own account) asks for it again — goes through the two guarded
 * checks below, so none of them is a way around the limits of the others:
 *
 * - passwords count toward the login lockout of the account (keyed by the
 *   email's blind index), are refused with 423 ACCOUNT_LOCKED while it is
 *   locked, and emit `auth.login.failed` / `auth.locked` like a login;
 * - second-factor codes count per user across login challenges and actions
 *   (MFA_USER_MAX_FAILURES in MFA_USER_LOCK_MINUTES lock the second factor:
 *   423 MFA_LOCKED and `mfa.locked`), and a code is spent by the check that
 *   accepts it (TOTP step compare-and-set, backup code conditional update).
 *
 * Both reserve their attempt before verifying (an atomic increment), so
 * parallel guesses cannot slip past the limit.
 */
import type { Actor } from "../events/index.js";
import { RampartError } from "../errors/index.js";
import { retryAfterSeconds } from "./flows/common.js";
import type { Identity } from "./identity.js";
import { hashBackupCode, verifyTotpOnce } from "./totp/index.js";

const secretContext = (userId: string, column: "totp_secret" | "totp_pending") => ({ table: "rampart_users", column, id: userId });

/** Decrypts a TOTP secret of the user (bound to its row and column as AAD). */
export function decryptTotpSecret(identity: Identity, userId: string, enc: string, column: "totp_secret" | "totp_pending" = "totp_secret"): Promise<string> {
  return identity.runtime.crypto.decryptStringFor(userId, enc, secretContext(userId, column));
}

/** Encrypts a TOTP secret under the user's key for `column`. */
export function encryptTotpSecret(identity: Identity, userId: string, secret: string, column: "totp_secret" | "totp_pending"): Promise<string> {
  return identity.runtime.crypto.encryptFor(userId, secret, secretContext(userId, column));
}

export interface PasswordSubject {
  id: string;
  passwordHash: string | null;
  status: "active" | "disabled" | "erased";
}

export interface PasswordCheck {
  /** The actor recorded on the events (anonymous at login, the user on a re-authentication). */
  actor: Actor;
  /** What asked for the password (`login`, `erase`, ...), recorded on failure events. */
  action: string;
}

/**
 * Verifies `password` for the account keyed `account` under the lockout.
 * `user` is undefined for an unknown email: a dummy verification then costs
 * the same time and the attempt counts the same. Resolves whether the stored
 * hash should be upgraded; throws ACCOUNT_LOCKED or INVALID_CREDENTIALS.
 */
export async function checkPassword(identity: Identity, account: string, user: PasswordSubject | undefined, password: string, check: PasswordCheck): Promise<{ needsRehash: boolean }> {
  const { lockout, hasher, runtime } = identity;
  const target = user ? { target: `user:${user.id}` } : {};
  const decision = await lockout.begin(account);
  if (!decision.allowed) {
    if (decision.lockedNow) await runtime.events.emit("auth.locked", { actor: check.actor, ...(user ? target : { target: `account:${account.slice(0, 16)}` }) });
    throw new RampartError("ACCOUNT_LOCKED", { headers: { "retry-after": retryAfterSeconds(decision.retryAfterMs) } });
  }
  const verified = user?.passwordHash && user.status !== "erased" ? await hasher.verify(user.passwordHash, password) : await hasher.dummyVerify(password);
  if (!user || !verified.ok) {
    const lockedNow = await lockout.fail(account, decision.attempt);
    await runtime.events.emit("auth.login.failed", { actor: check.actor, ...target, data: { attempt: decision.attempt, action: check.action } });
    if (lockedNow) await runtime.events.emit("auth.locked", { actor: check.actor, ...target });
    throw new RampartError("INVALID_CREDENTIALS");
  }
  await lockout.succeed(account);
  return { needsRehash: verified.needsRehash };
}

/** Verifies a TOTP or backup code once, without the lockout (callers go through checkCode). */
async function codeMatches(identity: Identity, userId: string, code: string, totpOnly: boolean): Promise<boolean> {
  const { runtime, usedSteps, secondFactors } = identity;
  const state = await secondFactors.read(userId);
  if (!state?.mfaEnabled || !state.secretEnc) return false;
  const trimmed = code.replace(/\s+/g, "");
  if (/^\d{6}$/.test(trimmed)) {
    const secret = await decryptTotpSecret(identity, userId, state.secretEnc);
    return (await verifyTotpOnce({ secret, code: trimmed, nowMs: runtime.clock.now(), userId, usedSteps })).ok;
  }
  if (totpOnly) return false;
  const hash = hashBackupCode(code);
  if (hash === null) return false;
  return secondFactors.spendBackupCode(userId, hash, new Date(runtime.clock.now()), (trx) =>
    runtime.events.emit("mfa.backup-code.used", { actor: { type: "user", id: userId }, target: `user:${userId}` }, trx),
  );
}

export interface CodeCheck {
  /** Recorded as the `reason` of `mfa.failed` (`login`, `disable`, ...). */
  action: string;
  /** Refuse backup codes (regenerating them needs the authenticator itself). */
  totpOnly?: boolean;
}

/**
 * Verifies a second-factor code of a user with MFA on, under the per-user
 * second-factor lockout; the accepted code is spent. Throws MFA_LOCKED or
 * INVALID_MFA_CODE.
 */
export async function checkCode(identity: Identity, userId: string, code: string, check: CodeCheck): Promise<void> {
  const { mfaLockout, runtime } = identity;
  const actor: Actor = { type: "user", id: userId };
  const target = `user:${userId}`;
  const decision = await mfaLockout.begin(userId);
  if (!decision.allowed) {
    if (decision.lockedNow) await runtime.events.emit("mfa.locked", { actor, target });
    await runtime.events.emit("mfa.failed", { actor, target, data: { reason: "locked", action: check.action } });
    throw new RampartError("MFA_LOCKED", { headers: { "retry-after": retryAfterSeconds(decision.retryAfterMs) } });
  }
  if (!(await codeMatches(identity, userId, code, check.totpOnly ?? false))) {
    const lockedNow = await mfaLockout.fail(userId, decision.attempt);
    await runtime.events.emit("mfa.failed", { actor, target, data: { reason: "wrong-code", action: check.action, attempt: decision.attempt } });
    if (lockedNow) await runtime.events.emit("mfa.locked", { actor, target });
    throw new RampartError("INVALID_MFA_CODE");
  }
  await mfaLockout.succeed(userId);
}

export interface ReauthProof {
  password?: string | undefined;
  code?: string | undefined;
}

export interface ReauthOptions {
  /** Names the action on events (`erase`, `mfa.disable`, `admin.roles`, ...). */
  action: string;
  /** The second factor: asked when MFA is on (default), or refused as a proof (`totpOnly`). */
  totpOnly?: boolean;
  /** Ask only for the second factor (backup-code regeneration); the default asks for the password too. */
  codeOnly?: boolean;
}

const missing = (field: "password" | "code") =>
  new RampartError("VALIDATION_FAILED", { message: `This action needs your ${field === "password" ? "password" : "verification code"} again.`, details: { fields: [{ path: `body.${field}`, message: "is required for this action" }] } });

/**
 * Re-authenticates the user behind a sensitive action: the password (under
 * the account lockout) unless `codeOnly`, then a TOTP or backup code (under
 * the second-factor lockout) when MFA is on. A missing code counts as no
 * attempt and answers INVALID_MFA_CODE.
 */
export async function reauthenticate(identity: Identity, userId: string, proof: ReauthProof, options: ReauthOptions): Promise<void> {
  const state = await identity.credentials.read(userId);
  if (!state || state.status !== "active" || !state.emailKey) throw new RampartError("UNAUTHENTICATED");
  if (!options.codeOnly) {
    if (proof.password === undefined) throw missing("password");
    await checkPassword(identity, state.emailKey, { id: userId, passwordHash: state.passwordHash, status: state.status }, proof.password, { actor: { type: "user", id: userId }, action: options.action });
  }
  if (!state.mfaEnabled) {
    // A code-only proof with no second factor would prove nothing.
    if (options.codeOnly) throw new RampartError("CONFLICT", { message: "MFA is not enabled." });
    return;
  }
  if (proof.code === undefined) throw new RampartError("INVALID_MFA_CODE", { message: "This account uses two-factor authentication: send a verification code too." });
  await checkCode(identity, userId, proof.code, { action: options.action, ...(options.totpOnly ? { totpOnly: true } : {}) });
}
