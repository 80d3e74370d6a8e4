/**
 * GDPR consent history: every change of a purpose's consent is a new row
 * (time, policy version, the client IP encrypted under the user's key); the
 * current state of a purpose is its latest row.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rampart_consents")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id").onDelete("cascade"))
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("granted", "boolean", (c) => c.notNull())
    .addColumn("policy_version", "text", (c) => c.notNull())
    .addColumn("ip_enc", "text")
    .addColumn("at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("rampart_consents_user").on("rampart_consents").columns(["user_id", "purpose", "at"]).execute();
}
