/**
 * GDPR erasure (right to be forgotten): re-authenticated by the user (or
 * done by an admin with a reason). One transaction deletes the user's
 * sessions, tokens, API keys, MFA data, consents, files and mail, blanks the
 * account to an `erased` tombstone (the email's blind index goes, so the
 * address can register again) and records `gdpr.erased` in the audit log,
 * which keeps only the user id. After the commit the sessions are revoked
 * everywhere and the user's key is crypto-shredded: every ciphertext of
 * theirs, in backups too, becomes undecryptable.
 */
import { randomUUID } from "node:crypto";
import type { Actor } from "../events/index.js";
import { RampartError } from "../errors/index.js";
import { checkSecondFactor } from "../auth/flows/login.js";
import type { GdprDeps } from "./export.js";

export interface ErasureReceipt {
  id: string;
  userId: string;
  erasedAt: string;
  removed: Record<string, number>;
  keyShredded: boolean;
}

/** The user erases themselves: password (and an MFA code when MFA is on) again. */
export async function eraseSelf(deps: GdprDeps, userId: string, input: { password: string; code?: string }): Promise<ErasureReceipt> {
  const { identity, runtime } = deps;
  const user = await identity.users.findById(runtime.db.kysely, userId);
  if (!user || user.status === "erased" || !user.password_hash) throw new RampartError("UNAUTHENTICATED");
  const verified = await identity.hasher.verify(user.password_hash, input.password);
  if (!verified.ok) throw new RampartError("INVALID_CREDENTIALS", { message: "The password is incorrect." });
  if (user.mfa_enabled && !(input.code && (await checkSecondFactor(identity, userId, input.code)))) throw new RampartError("INVALID_MFA_CODE");
  return erase(deps, userId, { type: "user", id: userId }, undefined);
}

export async function erase(deps: GdprDeps, userId: string, actor: Actor, reason: string | undefined): Promise<ErasureReceipt> {
  const { runtime, identity } = deps;
  const db = runtime.db.kysely;
  const user = await identity.users.findById(db, userId);
  if (!user || user.status === "erased") throw new RampartError("NOT_FOUND", { message: "No such user." });
  const receiptId = randomUUID();
  const erasedAt = new Date(runtime.clock.now());
  const sessionIds = (await db.selectFrom("rampart_sessions").select("id").where("user_id", "=", userId).execute()).map((r) => r.id);

  const removed = await db.transaction().execute(async (trx) => {
    const del = async (table: "rampart_refresh_tokens" | "rampart_sessions" | "rampart_api_keys" | "rampart_backup_codes" | "rampart_password_resets" | "rampart_outbox" | "rampart_consents" | "rampart_files" | "rampart_usage") =>
      Number((await trx.deleteFrom(table).where("user_id", "=", userId).executeTakeFirst()).numDeletedRows);
    const counts: Record<string, number> = {
      refreshTokens: await del("rampart_refresh_tokens"),
      sessions: await del("rampart_sessions"),
      apiKeys: await del("rampart_api_keys"),
      backupCodes: await del("rampart_backup_codes"),
      passwordResets: await del("rampart_password_resets"),
      mail: await del("rampart_outbox"),
      consents: await del("rampart_consents"),
      files: await del("rampart_files"),
      usage: await del("rampart_usage"),
    };
    await trx
      .updateTable("rampart_users")
      .set({
        status: "erased",
        email_enc: null,
        email_bidx: null,
        name_enc: null,
        password_hash: null,
        mfa_enabled: false,
        totp_secret_enc: null,
        totp_pending_enc: null,
        roles: [],
        erased_at: erasedAt,
        updated_at: erasedAt,
      })
      .where("id", "=", userId)
      .execute();
    await runtime.events.emit("gdpr.erased", { actor, target: `user:${userId}`, data: { receipt: receiptId, removed: counts, ...(reason ? { reason } : {}) } }, trx);
    return counts;
  });

  await identity.sessions.publish(sessionIds);
  // Crypto-shredding: drops the user's key everywhere; the data of theirs left anywhere is now noise.
  const keyShredded = await runtime.crypto.shred(userId);
  await identity.users.changed(userId);
  return { id: receiptId, userId, erasedAt: erasedAt.toISOString(), removed, keyShredded };
}
