/**
 * Named leases in the database: "one instance at a time" for scheduled work
 * (retention purges, key rotation). Acquiring is one conditional upsert, so of
 * any number of instances racing for a free or expired lease exactly one wins;
 * the holder renews by acquiring again before expiry.
 */
import type { Kysely } from "kysely";
import type { Tables } from "./tables.js";

export async function acquireLease(db: Kysely<Tables>, name: string, holder: string, ttlMs: number, nowMs: number): Promise<boolean> {
  const now = new Date(nowMs);
  const expires = new Date(nowMs + ttlMs);
  const row = await db
    .insertInto("rampart_leases")
    .values({ name, holder, expires_at: expires, acquired_at: now })
    .onConflict((oc) =>
      oc
        .column("name")
        .doUpdateSet((eb) => ({
          holder: eb.ref("excluded.holder"),
          expires_at: eb.ref("excluded.expires_at"),
          acquired_at: eb.ref("excluded.acquired_at"),
          generation: eb("rampart_leases.generation", "+", 1),
        }))
        .where((eb) => eb.or([eb("rampart_leases.expires_at", "<=", now), eb("rampart_leases.holder", "=", holder)])),
    )
    .returning("holder")
    .executeTakeFirst();
  return row?.holder === holder;
}

export async function releaseLease(db: Kysely<Tables>, name: string, holder: string): Promise<void> {
  await db.deleteFrom("rampart_leases").where("name", "=", name).where("holder", "=", holder).execute();
}
