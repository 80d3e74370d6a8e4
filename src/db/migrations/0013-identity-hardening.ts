/**
 * Identity hardening: a record of one-time provisioning steps. The bootstrap
 * admin (RAMPART_BOOTSTRAP_ADMIN_EMAIL) is created once; the row written then
 * outlives that account, so erasing it and restarting with the variable still
 * set does not create it again (the audit log keeps who it was).
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rampart_bootstrap")
    .addColumn("step", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text")
    .addColumn("done_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}
