/**
 * Pending blob removals (src/files/deletions.ts): the id of every upload
 * blob whose file row was deleted, written in the same transaction as that
 * delete, and removed once the blob is gone from RAMPART_FILES_DIR. A row
 * left here by a crash is finished when the files service starts. Only the
 * random blob id is kept — no user id, so nothing here outlives an erasure
 * as personal data — and the table has no foreign key to `rampart_users`.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rampart_blob_deletions")
    .addColumn("blob_id", "text", (c) => c.primaryKey())
    .addColumn("queued_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}
