/**
 * GDPR erasure (right to be forgotten): re-authenticated by the user (or
 * done by an admin with a reason). One transaction deletes the user's
 * sessions, tokens, API keys, MFA data, consents, files and mail, blanks the
 * account to an `erased` tombstone (the email's blind index goes, so the
 * address can register again), records the user's upload blobs for removal
 * and records `gdpr.erased` in the audit log, which keeps only the user id.
 * After the commit the sessions are revoked everywhere, the blobs are
 * removed from the store (a crash before that is finished at the next
 * start) and the user's key is crypto-shredded: every ciphertext of theirs,
 * in backups too, becomes undecryptable.
 */
import { randomUUID } from "node:crypto";
import type { Actor } from "../events/index.js";
import { RampartError } from "../errors/index.js";
import { reauthenticate } from "../auth/reauth.js";
import { assertNotLastAdmin } from "../auth/stores/admins.js";
import { detachFiles } from "../files/deletions.js";
import type { GdprDeps } from "./export.js";

export interface ErasureReceipt {
  id: string;
  userId: string;
  erasedAt: string;
  removed: Record<string, number>;
  keyShredded: boolean;
}

/**
 * The user (or an admin, on their own account: `actor` and `reason` then say
 * so) erases themselves: the password, and a code when MFA is on, through the
 * re-authentication path (account and second-factor lockouts).
 */
export async function eraseSelf(deps: GdprDeps, userId: string, input: { password?: string | undefined; code?: string | undefined }, actor: Actor = { type: "user", id: userId }, reason?: string): Promise<ErasureReceipt> {
  await reauthenticate(deps.identity, userId, input, { action: "erase" });
  return erase(deps, userId, actor, reason);
}

export async function erase(deps: GdprDeps, userId: string, actor: Actor, reason: string | undefined): Promise<ErasureReceipt> {
  const { runtime, identity } = deps;
  const db = runtime.db.kysely;
  const user = await identity.users.findById(db, userId);
  if (!user || user.status === "erased") throw new RampartError("NOT_FOUND", { message: "No such user." });
  const receiptId = randomUUID();
  const erasedAt = new Date(runtime.clock.now());
  const sessionIds = (await db.selectFrom("rampart_sessions").select("id").where("user_id", "=", userId).execute()).map((r) => r.id);

  const { removed, blobIds } = await db.transaction().execute(async (trx) => {
    // First, with the admin rows locked to the commit: the last active admin is never erased.
    await assertNotLastAdmin(trx, userId, "erased");
    // The user's row stays locked to the commit: an upload racing this erasure
    // commits before it (and its file is erased below) or sees the tombstone,
    // and a second erasure of the same user waits and finds nothing to erase.
    const locked = await trx.selectFrom("rampart_users").select("status").where("id", "=", userId).forNoKeyUpdate().executeTakeFirst();
    if (!locked || locked.status === "erased") throw new RampartError("NOT_FOUND", { message: "No such user." });
    const del = async (table: "rampart_refresh_tokens" | "rampart_sessions" | "rampart_api_keys" | "rampart_backup_codes" | "rampart_password_resets" | "rampart_email_verifications" | "rampart_outbox" | "rampart_consents" | "rampart_usage") =>
      Number((await trx.deleteFrom(table).where("user_id", "=", userId).executeTakeFirst()).numDeletedRows);
    // File rows go and their blobs are recorded for removal in this transaction (files/deletions.ts).
    const files = await detachFiles(trx, userId, erasedAt);
    const counts: Record<string, number> = {
      refreshTokens: await del("rampart_refresh_tokens"),
      sessions: await del("rampart_sessions"),
      apiKeys: await del("rampart_api_keys"),
      backupCodes: await del("rampart_backup_codes"),
      passwordResets: await del("rampart_password_resets"),
      emailVerifications: await del("rampart_email_verifications"),
      mail: await del("rampart_outbox"),
      consents: await del("rampart_consents"),
      files: files.length,
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
    return { removed: counts, blobIds: files.map((f) => f.id) };
  });

  await identity.sessions.publish(sessionIds);
  // The blobs go at once; what fails here stays recorded and is removed when the files service next starts.
  await deps.files?.removeBlobs(blobIds).catch((err: unknown) => runtime.log.error({ err, userId }, "could not remove an erased user's blobs (their removal stays pending)"));
  // Crypto-shredding: drops the user's key everywhere; the data of theirs left anywhere is now noise.
  const keyShredded = await runtime.crypto.shred(userId);
  await identity.users.changed(userId);
  return { id: receiptId, userId, erasedAt: erasedAt.toISOString(), removed, keyShredded };
}
