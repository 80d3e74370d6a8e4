/**
 * The files service: uploads (upload.ts), listing with a keyset cursor,
 * streaming decryption for downloads, deletion (giving the quota back), and
 * the removal of everything a user stored (erasure); blobs follow their rows
 * through durable pending removals (deletions.ts). Every read is scoped by
 * owner: another user's file id is simply not found.
 */
import { join } from "node:path";
import { Readable } from "node:stream";
import { RampartError } from "../errors/index.js";
import type { Quotas } from "../quotas/index.js";
import type { Runtime } from "../runtime/index.js";
import { BlobStore } from "./blob-store.js";
import type { FilesDeps } from "./deps.js";
import { detachFiles, removeQueuedBlobs, type BlobRemovalResult } from "./deletions.js";
import { blobContext, nameContext, type FileInfo } from "./records.js";
import { commitUpload, stageUpload, type StagedUpload } from "./upload.js";
import { decodeCursor, encodeCursor } from "../db/cursor.js";

const SWEEP_AGE_MS = 60 * 60 * 1000;

function notFound(): RampartError {
  return new RampartError("NOT_FOUND", { message: "No such file." });
}

export class Files {
  constructor(private readonly d: FilesDeps) {}

  /** Reads, checks and encrypts an upload into a temp file (nothing is visible yet). */
  stage(userId: string, filename: string, source: AsyncIterable<Uint8Array>): Promise<StagedUpload> {
    return stageUpload(this.d, userId, filename, source);
  }

  /** Makes a staged upload a file: quota reservation, row and blob, all or nothing. */
  commit(staged: StagedUpload) {
    return commitUpload(this.d, staged);
  }

  /** Drops a staged upload that will not be committed. */
  discard(staged: StagedUpload): Promise<void> {
    return this.d.store.discard(staged.tempPath);
  }

  /** The user's files, newest first, `limit` per page. */
  async list(userId: string, query: { cursor?: string; limit?: number }): Promise<{ files: FileInfo[]; nextCursor: string | null }> {
    const limit = query.limit ?? 50;
    let q = this.d.db.selectFrom("rampart_files").selectAll().where("user_id", "=", userId);
    if (query.cursor !== undefined) {
      const [t, id] = decodeCursor(query.cursor);
      q = q.where((eb) => eb.or([eb("created_at", "<", t), eb.and([eb("created_at", "=", t), eb("id", "<", id)])]));
    }
    const rows = await q.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit + 1).execute();
    const page = rows.slice(0, limit);
    const files = await Promise.all(page.map((r) => this.info(r)));
    const last = page[page.length - 1];
    return { files, nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null };
  }

  /**
   * Opens a file of `userId` for download. The first frame is decrypted
   * before this returns, so a bad blob fails before any byte is sent; a later
   * bad frame ends the stream with an error (the response is cut short of its
   * Content-Length, never completed with unauthenticated bytes).
   */
  async open(userId: string, id: string): Promise<{ file: FileInfo; body: Readable }> {
    const row = await this.d.db.selectFrom("rampart_files").selectAll().where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
    if (!row) throw notFound();
    const file = await this.info(row);
    const blob = await this.d.store.open(id);
    const frames = this.d.keyring.decryptFrames(blob, blobContext(id), { subject: userId });
    let first: IteratorResult<Buffer>;
    try {
      first = await frames.next();
    } catch (err) {
      blob.destroy();
      this.d.log.error({ err, fileId: id }, "stored file failed to decrypt");
      throw new RampartError("INTERNAL_ERROR", { cause: err });
    }
    async function* body(): AsyncGenerator<Buffer> {
      try {
        if (!first.done) yield first.value;
        yield* frames;
      } finally {
        blob.destroy();
      }
    }
    return { file, body: Readable.from(body()) };
  }

  /**
   * Deletes a file of `userId` and gives its bytes back to the quota of the
   * period they were counted in. The row goes and the blob is recorded for
   * removal in one transaction; the blob is removed right after the commit
   * (deletions.ts: a crash in between is finished at the next start).
   */
  async remove(userId: string, id: string): Promise<void> {
    const [row] = await this.d.db.transaction().execute((trx) => detachFiles(trx, userId, new Date(this.d.clock.now()), id));
    if (!row) throw notFound();
    await this.removeBlobs([id]);
    if (this.d.quotas) await this.d.quotas.release(userId, "files.bytes", Number(row.size), row.created_at.getTime());
  }

  /** Deletes every file of a user, rows and blobs, the same durable way; returns how many there were. */
  async removeAllOf(userId: string): Promise<number> {
    const rows = await this.d.db.transaction().execute((trx) => detachFiles(trx, userId, new Date(this.d.clock.now())));
    await this.removeBlobs(rows.map((r) => r.id));
    return rows.length;
  }

  /**
   * Removes blobs recorded for removal: `ids` right after the commit that
   * recorded them (erasure, deletion), or every pending one (at start). A
   * blob that cannot be removed stays pending and is logged.
   */
  removeBlobs(ids?: readonly string[]): Promise<BlobRemovalResult> {
    return removeQueuedBlobs(this.d, ids);
  }

  /**
   * Removes temp files and unreferenced blobs older than an hour: uploads a
   * crash cut short, and blobs written before pending removals were recorded.
   */
  sweep(): Promise<number> {
    return this.d.store.sweep(this.d.clock.now() - SWEEP_AGE_MS, async (ids) => {
      const rows = await this.d.db.selectFrom("rampart_files").select("id").where("id", "in", ids).execute();
      return new Set(rows.map((r) => r.id));
    });
  }

  /** The blob store (tests look at what is on disk). */
  get store(): BlobStore {
    return this.d.store;
  }

  private async info(row: { id: string; user_id: string; name_enc: string; content_type: string; size: string | number; created_at: Date }): Promise<FileInfo> {
    const name = await this.d.keyring.decryptStringFor(row.user_id, row.name_enc, nameContext(row.id));
    return { id: row.id, name, contentType: row.content_type, size: Number(row.size), createdAt: row.created_at.toISOString() };
  }
}

/**
 * The files service of a runtime (RAMPART_FILES_DIR, UPLOAD_MAX_BYTES,
 * UPLOAD_ALLOWED_TYPES); creates the directories and, before anything is
 * served, removes the blobs whose removal a crash or a failure left pending.
 * `store` replaces the on-disk store (tests inject faults through it).
 */
export async function createFiles(runtime: Runtime, quotas?: Quotas, store?: BlobStore): Promise<Files> {
  const { config } = runtime;
  const blobs = store ?? blobStoreFor(config);
  await blobs.init();
  const files = new Files({ db: runtime.db.kysely, keyring: runtime.crypto, store: blobs, clock: runtime.clock, log: runtime.log, quotas, maxBytes: config.uploadMaxBytes, allowedTypes: config.uploadAllowedTypes });
  const pending = await files.removeBlobs();
  if (pending.removed + pending.failed > 0) runtime.log.info(pending, "finished pending blob removals");
  return files;
}

/** The on-disk blob store of a configuration: RAMPART_FILES_DIR, else `files` in the data directory. */
export function blobStoreFor(config: Pick<Runtime["config"], "filesDir" | "dataDir">): BlobStore {
  return new BlobStore(config.filesDir ?? join(config.dataDir, "files"));
}
