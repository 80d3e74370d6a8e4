/**
 * TOTP enrollment and management. The secret is generated server-side,
 * stored encrypted under the user's key as "pending" until the user proves
 * they hold it with a valid code; then MFA is on and 10 backup codes are
 * issued (stored as SHA-256, shown once). Disabling re-authenticates with the
 * password and a code; regenerating backup codes with an authenticator code
 * (src/auth/reauth.ts: both under the account and second-factor lockouts).
 */
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { decryptTotpSecret, encryptTotpSecret, reauthenticate } from "../reauth.js";
import { generateBackupCodes, generateTotpSecret, totpQrCode, totpUri, verifyTotpOnce } from "../totp/index.js";

export async function enrollTotp(identity: Identity, userId: string): Promise<{ secret: string; otpauthUrl: string; qrCode: string }> {
  const { runtime, users, secondFactors } = identity;
  const profile = await users.profile(userId);
  if (!profile) throw new RampartError("UNAUTHENTICATED");
  if (profile.mfaEnabled) throw new RampartError("CONFLICT", { message: "MFA is already enabled; disable it first to enroll a new authenticator." });
  const secret = generateTotpSecret();
  await secondFactors.setPending(userId, await encryptTotpSecret(identity, userId, secret, "totp_pending"), new Date(runtime.clock.now()));
  const otpauthUrl = totpUri({ secret, issuer: "Rampart", accountName: profile.email });
  return { secret, otpauthUrl, qrCode: await totpQrCode(otpauthUrl, "svg") };
}

export async function confirmTotp(identity: Identity, userId: string, code: string): Promise<{ backupCodes: string[] }> {
  const { runtime, usedSteps, users, secondFactors } = identity;
  const state = await secondFactors.read(userId);
  if (!state?.pendingEnc || state.mfaEnabled) throw new RampartError("CONFLICT", { message: "There is no pending TOTP enrollment; call /auth/mfa/totp/enroll first." });
  const secret = await decryptTotpSecret(identity, userId, state.pendingEnc, "totp_pending");
  // Proves possession of a secret not yet in force: a wrong code here unlocks nothing.
  const match = await verifyTotpOnce({ secret, code, nowMs: runtime.clock.now(), userId, usedSteps });
  if (!match.ok) {
    await runtime.events.emit("mfa.failed", { actor: { type: "user", id: userId }, target: `user:${userId}`, data: { reason: "enroll-confirm" } });
    throw new RampartError("INVALID_MFA_CODE");
  }
  const enc = await encryptTotpSecret(identity, userId, secret, "totp_secret");
  const set = generateBackupCodes();
  const enabled = await secondFactors.enable(userId, enc, set.hashes, new Date(runtime.clock.now()), (trx) =>
    runtime.events.emit("mfa.enabled", { actor: { type: "user", id: userId }, target: `user:${userId}` }, trx),
  );
  if (!enabled) throw new RampartError("CONFLICT", { message: "MFA was enabled concurrently." });
  await users.changed(userId);
  return { backupCodes: [...set.codes] };
}

export async function disableTotp(identity: Identity, userId: string, input: { password: string; code: string }): Promise<void> {
  const { runtime, users, secondFactors } = identity;
  const state = await secondFactors.read(userId);
  if (!state?.mfaEnabled) throw new RampartError("CONFLICT", { message: "MFA is not enabled." });
  await reauthenticate(identity, userId, input, { action: "mfa.disable" });
  await secondFactors.disable(userId, new Date(runtime.clock.now()), (trx) => runtime.events.emit("mfa.disabled", { actor: { type: "user", id: userId }, target: `user:${userId}` }, trx));
  await users.changed(userId);
}

/** New backup codes need a code from the authenticator itself (a backup code is refused). */
export async function regenerateBackupCodes(identity: Identity, userId: string, code: string): Promise<{ backupCodes: string[] }> {
  const { runtime, secondFactors } = identity;
  await reauthenticate(identity, userId, { code }, { action: "mfa.backup-codes.regenerate", codeOnly: true, totpOnly: true });
  const set = generateBackupCodes();
  await secondFactors.replaceBackupCodes(userId, set.hashes, (trx) => runtime.events.emit("mfa.backup-codes.regenerated", { actor: { type: "user", id: userId }, target: `user:${userId}` }, trx));
  return { backupCodes: [...set.codes] };
}
