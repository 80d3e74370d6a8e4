/**
 * Envelope encryption (src/crypto): the KEK version registry (for `local`, the
 * KEK material itself, wrapped by the `master-key` secret), per-subject data
 * keys (deleted to crypto-shred a subject) and rewrap cursors (resume after a
 * crash mid-rewrap).
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rampart_kek_versions")
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull().defaultTo("active").check(sql`state in ('active', 'retired')`))
    .addColumn("wrapped_key", "bytea")
    .addColumn("master_key_check", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("retired_at", "timestamptz")
    .addPrimaryKeyConstraint("rampart_kek_versions_pk", ["provider", "key_id", "version"])
    .execute();

  await db.schema
    .createTable("rampart_subject_keys")
    .addColumn("subject", "text", (c) => c.primaryKey())
    .addColumn("key_id", "bytea", (c) => c.notNull().unique())
    .addColumn("kek_provider", "text", (c) => c.notNull())
    .addColumn("kek_key_id", "text", (c) => c.notNull())
    .addColumn("kek_version", "integer", (c) => c.notNull())
    .addColumn("wrapped_dek", "bytea", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("rewrapped_at", "timestamptz")
    .execute();
  await db.schema.createIndex("rampart_subject_keys_kek").on("rampart_subject_keys").columns(["kek_provider", "kek_key_id", "kek_version"]).execute();

  await db.schema
    .createTable("rampart_rewrap_cursors")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("last_id", "text", (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}
