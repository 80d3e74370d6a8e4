/**
 * API key lineage: `parent_id` is the key that created a key (null when a
 * login session did), so revoking a key revokes every key derived from it.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("rampart_api_keys")
    .addColumn("parent_id", "text", (c) => c.references("rampart_api_keys.id").onDelete("set null"))
    .execute();
  await db.schema.createIndex("rampart_api_keys_parent").on("rampart_api_keys").column("parent_id").execute();
}
