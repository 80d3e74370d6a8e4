/**
 * Administrative safety at rest: the last active admin guard and the record
 * of one-time provisioning (the bootstrap admin).
 *
 * The guard is race-free: it locks every active admin row (`FOR UPDATE`, in
 * id order so two guards never deadlock) inside the caller's transaction
 * before the caller disables, demotes or erases one. Two admins disabling
 * each other at once serialize on those locks, and the second one re-reads
 * the rows after the first committed (PostgreSQL re-checks the WHERE of a
 * locked row), sees a single admin left and is refused.
 */
import { sql, type Kysely, type Transaction } from "kysely";
import type { Tables } from "../../db/index.js";
import { RampartError } from "../../errors/index.js";

/** Locks and returns the ids of every active admin, in id order (call inside a transaction). */
export async function lockActiveAdmins(trx: Transaction<Tables>): Promise<string[]> {
  const rows = await trx
    .selectFrom("rampart_users")
    .select("id")
    .where("status", "=", "active")
    .where(sql<boolean>`roles @> array['admin']::text[]`)
    .orderBy("id")
    .forUpdate()
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Throws 409 CONFLICT when `userId` is an active admin and no other active
 * admin exists; the rows stay locked until `trx` ends, so the caller's write
 * cannot race another removal.
 */
export async function assertNotLastAdmin(trx: Transaction<Tables>, userId: string, action: "erased" | "disabled" | "demoted"): Promise<void> {
  const admins = await lockActiveAdmins(trx);
  if (admins.includes(userId) && admins.length < 2) {
    throw new RampartError("CONFLICT", { message: `The last active admin cannot be ${action}; make another account admin first.` });
  }
}

/** Whether the one-time step `step` (e.g. `admin`) was done, on any instance, at any time. */
export async function bootstrapDone(db: Kysely<Tables>, step: string): Promise<boolean> {
  return (await db.selectFrom("rampart_bootstrap").select("step").where("step", "=", step).executeTakeFirst()) !== undefined;
}

/** Records `step` as done (idempotent: the first record wins, later ones change nothing). */
export async function recordBootstrap(db: Kysely<Tables>, step: string, userId: string | null, at: Date): Promise<void> {
  await db.insertInto("rampart_bootstrap").values({ step, user_id: userId, done_at: at }).onConflict((oc) => oc.column("step").doNothing()).execute();
}
