/**
 * Email verification: `rampart_users.email_verified_at` (null = not verified)
 * and the single-use verification tokens, stored as SHA-256 of a 256-bit
 * random value (docs/architecture.md, "Data at rest") with an expiry. The table
 * references `rampart_users(id)`, so erasure and export cover it.
 *
 * Accounts that exist before this migration stay unverified: nothing proved
 * that their owners control the address.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("rampart_users").addColumn("email_verified_at", "timestamptz").execute();
  await db.schema
    .createTable("rampart_email_verifications")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id").onDelete("cascade"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("used_at", "timestamptz")
    .execute();
  await db.schema.createIndex("rampart_email_verifications_user").on("rampart_email_verifications").columns(["user_id", "created_at"]).execute();
}
