/**
 * Single-use, expiring tokens sent by mail (password resets, email
 * verifications): a row per token holding its SHA-256, the user, the expiry
 * and `used_at`. Both operations run inside the caller's transaction, so the
 * token is spent together with the change it authorizes.
 */
import type { Transaction } from "kysely";
import type { Tables } from "../../db/index.js";

export type OneTimeTokenTable = "rampart_password_resets" | "rampart_email_verifications";

/**
 * Spends the live token with this hash and returns its user; undefined when it
 * is unknown, spent or expired. A conditional update: of concurrent callers
 * presenting one token, exactly one gets the user.
 */
export async function spendToken(trx: Transaction<Tables>, table: OneTimeTokenTable, tokenHash: string, now: Date): Promise<string | undefined> {
  const spent = await trx
    .updateTable(table)
    .set({ used_at: now })
    .where("token_hash", "=", tokenHash)
    .where("used_at", "is", null)
    .where("expires_at", ">", now)
    .returning("user_id")
    .executeTakeFirst();
  return spent?.user_id;
}

/** Spends every outstanding token of the user in `table`; returns how many there were. */
export async function spendAllTokens(trx: Transaction<Tables>, table: OneTimeTokenTable, userId: string, now: Date): Promise<number> {
  const res = await trx.updateTable(table).set({ used_at: now }).where("user_id", "=", userId).where("used_at", "is", null).executeTakeFirst();
  return Number(res.numUpdatedRows);
}
