/**
 * TOTP enrollment and management. The secret is generated server-side,
 * stored encrypted under the user's key as "pending" until the user proves
 * they hold it with a valid code; then MFA is on and 10 backup codes are
 * issued (stored as SHA-256, shown once). Disabling needs the password and a
 * code; regenerating backup codes needs a code.
 */
import type { Transaction } from "kysely";
import type { Tables } from "../../db/index.js";
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { generateBackupCodes, generateTotpSecret, totpQrCode, totpUri, verifyTotpOnce } from "../totp/index.js";
import { checkSecondFactor } from "./login.js";

const secretContext = (userId: string, column: "totp_secret" | "totp_pending") => ({ table: "rampart_users", column, id: userId });

export async function decryptTotpSecret(identity: Identity, userId: string, enc: string, column: "totp_secret" | "totp_pending" = "totp_secret"): Promise<string> {
  return identity.runtime.crypto.decryptStringFor(userId, enc, secretContext(userId, column));
}

export async function enrollTotp(identity: Identity, userId: string): Promise<{ secret: string; otpauthUrl: string; qrCode: string }> {
  const { runtime, users } = identity;
  const profile = await users.profile(userId);
  if (!profile) throw new RampartError("UNAUTHENTICATED");
  if (profile.mfaEnabled) throw new RampartError("CONFLICT", { message: "MFA is already enabled; disable it first to enroll a new authenticator." });
  const secret = generateTotpSecret();
  const enc = await runtime.crypto.encryptFor(userId, secret, secretContext(userId, "totp_pending"));
  await runtime.db.kysely.updateTable("rampart_users").set({ totp_pending_enc: enc, updated_at: new Date(runtime.clock.now()) }).where("id", "=", userId).execute();
  const otpauthUrl = totpUri({ secret, issuer: "Rampart", accountName: profile.email });
  return { secret, otpauthUrl, qrCode: await totpQrCode(otpauthUrl, "svg") };
}

/** Replaces every backup code of a user inside `trx`; returns the new codes (shown once). */
async function writeBackupCodes(trx: Transaction<Tables>, userId: string): Promise<string[]> {
  const set = generateBackupCodes();
  await trx.deleteFrom("rampart_backup_codes").where("user_id", "=", userId).execute();
  await trx.insertInto("rampart_backup_codes").values(set.hashes.map((code_hash) => ({ user_id: userId, code_hash }))).execute();
  return [...set.codes];
}

export async function confirmTotp(identity: Identity, userId: string, code: string): Promise<{ backupCodes: string[] }> {
  const { runtime, usedSteps, users } = identity;
  const row = await runtime.db.kysely.selectFrom("rampart_users").select(["totp_pending_enc", "mfa_enabled"]).where("id", "=", userId).executeTakeFirst();
  if (!row?.totp_pending_enc || row.mfa_enabled) throw new RampartError("CONFLICT", { message: "There is no pending TOTP enrollment; call /auth/mfa/totp/enroll first." });
  const secret = await decryptTotpSecret(identity, userId, row.totp_pending_enc, "totp_pending");
  const match = await verifyTotpOnce({ secret, code, nowMs: runtime.clock.now(), userId, usedSteps });
  if (!match.ok) {
    await runtime.events.emit("mfa.failed", { actor: { type: "user", id: userId }, target: `user:${userId}`, data: { reason: "enroll-confirm" } });
    throw new RampartError("INVALID_MFA_CODE");
  }
  const enc = await runtime.crypto.encryptFor(userId, secret, secretContext(userId, "totp_secret"));
  const backupCodes = await runtime.db.kysely.transaction().execute(async (trx) => {
    const done = await trx
      .updateTable("rampart_users")
      .set({ totp_secret_enc: enc, totp_pending_enc: null, mfa_enabled: true, updated_at: new Date(runtime.clock.now()) })
      .where("id", "=", userId)
      .where("mfa_enabled", "=", false)
      .executeTakeFirst();
    if (done.numUpdatedRows !== 1n) throw new RampartError("CONFLICT", { message: "MFA was enabled concurrently." });
    const codes = await writeBackupCodes(trx, userId);
    await runtime.events.emit("mfa.enabled", { actor: { type: "user", id: userId }, target: `user:${userId}` }, trx);
    return codes;
  });
  await users.changed(userId);
  return { backupCodes };
}

export async function disableTotp(identity: Identity, userId: string, input: { password: string; code: string }): Promise<void> {
  const { runtime, hasher, users } = identity;
  const row = await runtime.db.kysely.selectFrom("rampart_users").select(["password_hash", "mfa_enabled"]).where("id", "=", userId).executeTakeFirst();
  if (!row?.mfa_enabled) throw new RampartError("CONFLICT", { message: "MFA is not enabled." });
  const verified = row.password_hash ? await hasher.verify(row.password_hash, input.password) : { ok: false };
  if (!verified.ok) throw new RampartError("INVALID_CREDENTIALS");
  if (!(await checkSecondFactor(identity, userId, input.code))) {
    await runtime.events.emit("mfa.failed", { actor: { type: "user", id: userId }, target: `user:${userId}`, data: { reason: "disable" } });
    throw new RampartError("INVALID_MFA_CODE");
  }
  await runtime.db.kysely.transaction().execute(async (trx) => {
    await trx.updateTable("rampart_users").set({ mfa_enabled: false, totp_secret_enc: null, totp_pending_enc: null, updated_at: new Date(runtime.clock.now()) }).where("id", "=", userId).execute();
    await trx.deleteFrom("rampart_backup_codes").where("user_id", "=", userId).execute();
    await runtime.events.emit("mfa.disabled", { actor: { type: "user", id: userId }, target: `user:${userId}` }, trx);
  });
  await users.changed(userId);
}

export async function regenerateBackupCodes(identity: Identity, userId: string, code: string): Promise<{ backupCodes: string[] }> {
  const { runtime } = identity;
  if (!/^\d{6}$/.test(code.replace(/\s+/g, "")) || !(await checkSecondFactor(identity, userId, code))) {
    await runtime.events.emit("mfa.failed", { actor: { type: "user", id: userId }, target: `user:${userId}`, data: { reason: "regenerate" } });
    throw new RampartError("INVALID_MFA_CODE");
  }
  const backupCodes = await runtime.db.kysely.transaction().execute(async (trx) => {
    const codes = await writeBackupCodes(trx, userId);
    await runtime.events.emit("mfa.backup-codes.regenerated", { actor: { type: "user", id: userId }, target: `user:${userId}` }, trx);
    return codes;
  });
  return { backupCodes };
}
