/**
 * Durable blob removal. The database decides whether a blob lives; the blob
 * store follows it. Whoever deletes a file row (file deletion, erasure)
 * records the blob's id in `rampart_blob_deletions` in the same transaction,
 * removes the blob right after the commit, and only then clears the record.
 * A crash or a failed unlink between the commit and the removal leaves the
 * record, and the files service finishes the removal when it starts, before
 * it serves. An upload records its blob before renaming it into place and
 * clears the record in the transaction that inserts the file row, so a blob
 * whose row never committed (an orphan) goes the same way.
 *
 * Invariant: no committed state has both a file row and a pending removal
 * for one id (the removal pass checks it anyway and never removes a blob
 * that has a row).
 */
import type { Kysely } from "kysely";
import type { Tables } from "../db/tables.js";
import type { Logger } from "../log/index.js";
import type { BlobStore } from "./blob-store.js";

const BATCH = 500;

export interface BlobRemovalDeps {
  db: Kysely<Tables>;
  store: BlobStore;
  log: Logger;
}

export interface BlobRemovalResult {
  /** Blobs removed (or found already gone) whose records were cleared. */
  removed: number;
  /** Blobs whose removal failed: their records stay for the next pass. */
  failed: number;
}

/** Records blobs to remove; run it in the transaction that deletes their rows. */
export async function queueBlobRemovals(db: Kysely<Tables>, ids: readonly string[], at: Date): Promise<void> {
  for (let i = 0; i < ids.length; i += BATCH) {
    const values = ids.slice(i, i + BATCH).map((blob_id) => ({ blob_id, queued_at: at }));
    await db.insertInto("rampart_blob_deletions").values(values).onConflict((oc) => oc.column("blob_id").doNothing()).execute();
  }
}

/**
 * Deletes a user's file rows (one file with `id`, else all of them) and
 * records their blobs for removal; run it inside a transaction. Returns the
 * deleted rows.
 */
export async function detachFiles(trx: Kysely<Tables>, userId: string, at: Date, id?: string): Promise<{ id: string; size: string | number; created_at: Date }[]> {
  let q = trx.deleteFrom("rampart_files").where("user_id", "=", userId);
  if (id !== undefined) q = q.where("id", "=", id);
  const rows = await q.returning(["id", "size", "created_at"]).execute();
  await queueBlobRemovals(trx, rows.map((r) => r.id), at);
  return rows;
}

/**
 * One batch: locks up to BATCH pending records (`for update skip locked`, so
 * two instances never work on one record and an upload clearing its own
 * record is left alone), removes their blobs, clears the records of those
 * that are gone.
 */
async function removeBatch(d: BlobRemovalDeps, filter: { ids?: readonly string[]; after: string }): Promise<BlobRemovalResult & { last: string | undefined }> {
  return d.db.transaction().execute(async (trx) => {
    let q = trx.selectFrom("rampart_blob_deletions").select("blob_id").where("blob_id", ">", filter.after);
    if (filter.ids) q = q.where("blob_id", "in", filter.ids);
    const pending = (await q.orderBy("blob_id").limit(BATCH).forUpdate().skipLocked().execute()).map((r) => r.blob_id);
    if (pending.length === 0) return { removed: 0, failed: 0, last: undefined };
    const live = new Set((await trx.selectFrom("rampart_files").select("id").where("id", "in", pending).execute()).map((r) => r.id));
    const cleared: string[] = [];
    let removed = 0;
    let failed = 0;
    for (const id of pending) {
      if (live.has(id)) {
        d.log.warn({ fileId: id }, "a pending blob removal names a live file: the blob is kept");
        cleared.push(id);
        continue;
      }
      try {
        await d.store.remove(id);
        cleared.push(id);
        removed++;
      } catch (err) {
        failed++;
        d.log.error({ err, fileId: id }, "could not remove a blob (it stays pending and is retried at the next start)");
      }
    }
    if (cleared.length > 0) await trx.deleteFrom("rampart_blob_deletions").where("blob_id", "in", cleared).execute();
    return { removed, failed, last: pending[pending.length - 1] };
  });
}

/**
 * Removes pending blobs and clears their records: those of `ids` (right
 * after the commit that recorded them), or every pending one (at start).
 * A blob that cannot be removed is logged and stays pending; database
 * errors reject.
 */
export async function removeQueuedBlobs(d: BlobRemovalDeps, ids?: readonly string[]): Promise<BlobRemovalResult> {
  const total: BlobRemovalResult = { removed: 0, failed: 0 };
  const add = (r: BlobRemovalResult) => {
    total.removed += r.removed;
    total.failed += r.failed;
  };
  if (ids) {
    for (let i = 0; i < ids.length; i += BATCH) add(await removeBatch(d, { ids: ids.slice(i, i + BATCH), after: "" }));
    return total;
  }
  // A cursor, so records whose removal fails are passed over rather than retried in a loop.
  for (let after = ""; ; ) {
    const r = await removeBatch(d, { after });
    add(r);
    if (r.last === undefined) return total;
    after = r.last;
  }
}
