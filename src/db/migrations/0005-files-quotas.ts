/**
 * Uploads and quotas (src/files, src/quotas): file metadata (the blob itself
 * is an rp1 framed ciphertext in RAMPART_FILES_DIR, under the owner's key;
 * the display name is encrypted too), persisted usage per user, meter and
 * period, and each user's plan (null = RAMPART_DEFAULT_PLAN). Both tables
 * reference `rampart_users(id)` with `on delete cascade`, so erasure and
 * export enumerate them.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rampart_files")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id").onDelete("cascade"))
    .addColumn("name_enc", "text", (c) => c.notNull())
    .addColumn("content_type", "text", (c) => c.notNull())
    .addColumn("size", "bigint", (c) => c.notNull().check(sql`size >= 0`))
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("rampart_files_user").on("rampart_files").columns(["user_id", "created_at", "id"]).execute();

  await db.schema
    .createTable("rampart_usage")
    .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id").onDelete("cascade"))
    .addColumn("meter", "text", (c) => c.notNull())
    .addColumn("period", "text", (c) => c.notNull().check(sql`period in ('day', 'month')`))
    .addColumn("period_start", "timestamptz", (c) => c.notNull())
    .addColumn("used", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("rampart_usage_pk", ["user_id", "meter", "period", "period_start"])
    .execute();
  await sql`create index rampart_usage_top on rampart_usage (meter, period, period_start, used desc)`.execute(db);

  await db.schema.alterTable("rampart_users").addColumn("plan", "text").execute();
}
