/**
 * One upload, in two steps so that nothing is kept unless all of it is good:
 *
 *   stage   reads the stream once: sniffs the first SNIFF_BYTES (only they are
 *           held in memory), checks type, extension, size and polyglot markers
 *           as bytes pass, and encrypts frame by frame under the owner's key
 *           into a temp file. Any refusal stops reading at once.
 *   commit  reserves the bytes against the `files.bytes` quota, records the
 *           blob as pending removal, then inserts the metadata row, clears
 *           that record and renames the temp file into place in one
 *           transaction. On any failure the temp file (or blob) is removed,
 *           no row remains and the reservation is given back; after a crash
 *           the pending record removes the blob at the next start.
 */
import { isRampartError, RampartError } from "../errors/index.js";
import type { MeterState } from "../quotas/index.js";
import { extensionOf, specForSniffed } from "./types.js";
import type { FilesDeps } from "./deps.js";
import { sanitizeFilename } from "./filename.js";
import { PolyglotScanner, type PolyglotFinding } from "./polyglot.js";
import { SNIFF_BYTES, sniffMime } from "./sniff.js";
import { blobContext, nameContext, type FileInfo } from "./records.js";
import { queueBlobRemovals, removeQueuedBlobs } from "./deletions.js";

/** A fully written, not yet accepted upload. */
export interface StagedUpload {
  id: string;
  userId: string;
  tempPath: string;
  name: string;
  contentType: string;
  size: number;
}

const POLYGLOT_MESSAGE: Record<PolyglotFinding, string> = {
  "markup-at-start": "The file contains HTML or SVG markup.",
  "active-markup": "The file contains script or HTML content.",
  "appended-archive": "The file has an archive appended to it.",
};

function unsupported(message: string, details: Record<string, unknown>): RampartError {
  return new RampartError("UNSUPPORTED_FILE_TYPE", { message, details });
}

function tooLarge(maxBytes: number): RampartError {
  return new RampartError("PAYLOAD_TOO_LARGE", { message: `The file is larger than ${maxBytes} bytes.`, details: { maxBytes } });
}

/** Quota calls fail closed: an unreachable store refuses the upload (503) rather than storing it unmetered. */
async function metered<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (isRampartError(err)) throw err;
    throw new RampartError("SERVICE_UNAVAILABLE", { message: "Uploads are unavailable for a moment; try again.", cause: err });
  }
}

/** Reads, checks and encrypts an upload into a temp file; see the module comment. */
export async function stageUpload(d: FilesDeps, userId: string, filename: string, source: AsyncIterable<Uint8Array>): Promise<StagedUpload> {
  let allowance = d.quotas ? await metered(d.quotas.check(userId, "files.bytes", 1)) : Infinity;
  const name = sanitizeFilename(filename);
  const it = source[Symbol.asyncIterator]();
  let size = 0;
  const take = async (chunk: Uint8Array): Promise<Uint8Array> => {
    size += chunk.length;
    if (size > d.maxBytes) throw tooLarge(d.maxBytes);
    if (size > allowance && d.quotas) allowance = await metered(d.quotas.check(userId, "files.bytes", size));
    return chunk;
  };

  try {
    // Only the sniffing window is held in memory.
    const head: Uint8Array[] = [];
    let ended = false;
    while (size < SNIFF_BYTES) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      head.push(await take(r.value));
    }
    if (size === 0) throw new RampartError("VALIDATION_FAILED", { message: "The file is empty.", details: { fields: [{ path: "body.file", message: "is empty" }] } });
    const mime = await sniffMime(Buffer.concat(head));
    const spec = mime === undefined ? undefined : specForSniffed(d.allowedTypes, mime);
    if (!spec) throw unsupported("The file type is not allowed.", { detected: mime ?? null, allowed: d.allowedTypes });
    const extension = extensionOf(name);
    if (!spec.extensions.includes(extension)) {
      throw unsupported("The file name's extension does not match its content.", { detected: spec.contentType, extension, expected: spec.extensions });
    }

    const scanner = new PolyglotScanner();
    const check = (chunk: Uint8Array): Uint8Array => {
      const finding = scanner.push(chunk);
      if (finding) throw unsupported(POLYGLOT_MESSAGE[finding], { reason: finding });
      return chunk;
    };
    async function* plaintext(): AsyncGenerator<Uint8Array> {
      for (const chunk of head) yield check(chunk);
      if (!ended) for (let r = await it.next(); !r.done; r = await it.next()) yield check(await take(r.value));
      const finding = scanner.finish();
      if (finding) throw unsupported(POLYGLOT_MESSAGE[finding], { reason: finding });
    }

    const id = d.store.newId();
    const tempPath = d.store.tempPath();
    try {
      await d.store.write(tempPath, d.keyring.encryptFrames(plaintext(), blobContext(id), { subject: userId }));
    } catch (err) {
      await d.store.discard(tempPath);
      throw err;
    }
    return { id, userId, tempPath, name, contentType: spec.contentType, size };
  } finally {
    // Stop the source (for multipart: busboy stops feeding this part) when we stopped early.
    await it.return?.();
  }
}

/** Accepts a staged upload: quota, row and blob together, or nothing. */
export async function commitUpload(d: FilesDeps, staged: StagedUpload): Promise<{ file: FileInfo; warnings: MeterState[] }> {
  const { id, userId, tempPath, size } = staged;
  const at = d.clock.now();
  let warnings: MeterState[] = [];
  try {
    if (d.quotas) warnings = (await metered(d.quotas.consume(userId, "files.bytes", size))).warnings;
  } catch (err) {
    await d.store.discard(tempPath);
    throw err;
  }
  try {
    const nameEnc = await d.keyring.encryptFor(userId, staged.name, nameContext(id));
    // Recorded for removal until its row commits: a blob renamed into place by a
    // transaction that then never commits (a crash) is an orphan the next start removes.
    await queueBlobRemovals(d.db, [id], new Date(at));
    await d.db.transaction().execute(async (trx) => {
      // Erasure holds the owner's row locked while it deletes their files, so a
      // racing upload either commits first (and is erased with the rest) or sees the tombstone.
      const owner = await trx.selectFrom("rampart_users").select("status").where("id", "=", userId).forShare().executeTakeFirst();
      if (!owner || owner.status === "erased") throw new RampartError("UNAUTHENTICATED");
      // Clearing the record takes its row lock: from here a removal pass skips this blob.
      await trx.deleteFrom("rampart_blob_deletions").where("blob_id", "=", id).execute();
      await trx.insertInto("rampart_files").values({ id, user_id: userId, name_enc: nameEnc, content_type: staged.contentType, size, created_at: new Date(at) }).execute();
      // Inside the transaction: a failed rename rolls the row back; a failed commit is undone below.
      await d.store.commit(tempPath, id);
    });
  } catch (err) {
    await d.store.discard(tempPath).catch((e: unknown) => d.log.error({ err: e }, "could not remove a failed upload's temp file (the sweep removes it)"));
    // Removes the blob if it was renamed and clears its record; what fails here stays pending for the next start.
    await removeQueuedBlobs(d, [id]).catch((e: unknown) => d.log.error({ err: e, fileId: id }, "could not clean up a failed upload (its removal stays pending)"));
    if (d.quotas) await d.quotas.release(userId, "files.bytes", size, at).catch((e: unknown) => d.log.error({ err: e }, "could not give back a failed upload's quota"));
    throw err;
  }
  return { file: { id, name: staged.name, contentType: staged.contentType, size, createdAt: new Date(at).toISOString() }, warnings };
}
