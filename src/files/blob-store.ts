/**
 * Blobs on disk under RAMPART_FILES_DIR:
 *
 *   blobs/<id[0..2]>/<id>   committed ciphertexts (rp1 framed), named by random id only
 *   tmp/<random>.part       uploads being written
 *
 * An upload is written (and fsynced) under tmp/ and renamed into blobs/
 * only once it is complete and accepted; a rename within one file system is
 * atomic, so a reader never sees half a blob. Files are 0600, directories
 * 0700. `sweep` removes what a crash left behind: stale temp files and blobs
 * no metadata row refers to.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, type ReadStream } from "node:fs";
import { mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";

const ID = /^[A-Za-z0-9_-]{16,64}$/;

function assertId(id: string): void {
  // Ids are ours (random); checked anyway so no caller can turn one into a path.
  if (!ID.test(id)) throw new TypeError("not a file id");
}

async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
}

export class BlobStore {
  private readonly blobs: string;
  private readonly tmp: string;

  constructor(readonly dir: string) {
    this.blobs = join(dir, "blobs");
    this.tmp = join(dir, "tmp");
  }

  /** Creates the directories (idempotent). */
  async init(): Promise<void> {
    await mkdir(this.blobs, { recursive: true, mode: 0o700 });
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
  }

  /** A fresh random id for a blob. */
  newId(): string {
    return randomBytes(16).toString("base64url");
  }

  /** A fresh temp path for an upload in progress. */
  tempPath(): string {
    return join(this.tmp, `${randomBytes(12).toString("hex")}.part`);
  }

  private blobPath(id: string): string {
    assertId(id);
    return join(this.blobs, id.slice(0, 2), id);
  }

  /** Writes `source` to a new temp file (never an existing one) and fsyncs it. */
  async write(tempPath: string, source: AsyncIterable<Uint8Array>): Promise<void> {
    const handle = await open(tempPath, "wx", 0o600);
    try {
      // One write at a time: the source is pulled only as fast as the disk takes it.
      for await (const chunk of source) {
        for (let off = 0; off < chunk.length; ) off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Moves a complete temp file to its blob name. */
  async commit(tempPath: string, id: string): Promise<void> {
    const path = this.blobPath(id);
    await mkdir(join(this.blobs, id.slice(0, 2)), { recursive: true, mode: 0o700 });
    await rename(tempPath, path);
  }

  /** Reads a blob; rejects (ENOENT) when it does not exist. */
  async open(id: string): Promise<ReadStream> {
    const path = this.blobPath(id);
    await stat(path);
    return createReadStream(path);
  }

  /** Deletes a blob; a missing one is not an error. An invalid id rejects, as every other failure does. */
  async remove(id: string): Promise<void> {
    await unlinkQuietly(this.blobPath(id));
  }

  /** Deletes a temp file; a missing one is not an error. */
  discard(tempPath: string): Promise<void> {
    return unlinkQuietly(tempPath);
  }

  /** Every temp file (for tests and the sweep). */
  async temps(): Promise<string[]> {
    return (await readdir(this.tmp).catch(() => [])).map((n) => join(this.tmp, n));
  }

  /**
   * Deletes temp files and unreferenced blobs last modified before
   * `olderThan` (ms since the epoch); `known` says which ids still have a row.
   * Returns how many files were removed.
   */
  async sweep(olderThan: number, known: (ids: string[]) => Promise<Set<string>>): Promise<number> {
    let removed = 0;
    const old = async (path: string) => (await stat(path).catch(() => undefined))?.mtimeMs ?? Infinity;
    for (const path of await this.temps()) {
      if ((await old(path)) < olderThan) {
        await unlinkQuietly(path);
        removed++;
      }
    }
    for (const shard of await readdir(this.blobs).catch(() => [])) {
      const ids = (await readdir(join(this.blobs, shard)).catch(() => [])).filter((n) => ID.test(n));
      for (let i = 0; i < ids.length; i += 500) {
        const batch = ids.slice(i, i + 500);
        const live = await known(batch);
        for (const id of batch) {
          if (live.has(id)) continue;
          const path = this.blobPath(id);
          if ((await old(path)) < olderThan) {
            await unlinkQuietly(path);
            removed++;
          }
        }
      }
    }
    return removed;
  }
}
