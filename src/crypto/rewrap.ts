/**
 * `rampart keys rewrap`: re-wraps every stored DEK that is not under the
 * current KEK version — subject keys in `rampart_subject_keys`, and the key
 * sections of rp1 headers in registered ciphertext columns (and, for `local`,
 * KEK rows still under an earlier master key) — without touching
 * a payload (the key section is outside the AAD; format.ts). Work is batched,
 * reported through `onProgress` after each batch, and resumable: subject keys
 * page by subject, columns by id with a cursor saved after each batch in
 * `rampart_rewrap_cursors`, so a run that crashed (or whose onProgress threw)
 * continues where it stopped. A DEK shared by many rows is unwrapped and
 * wrapped once per run.
 */
import { zeroize } from "./bytes.js";
import { columnName, countColumn, parseStored, replaceValue, scanColumn, type CiphertextColumn } from "./ciphertext-columns.js";
import { SHARED_KEY_CONTEXT } from "./data-keys.js";
import { DecryptionFailed } from "./errors.js";
import { encodeKeySection, replaceKeySection, toText } from "./format.js";
import { LocalKek } from "./kek/local.js";
import { refString, sameRef, type KekRef } from "./kek/types.js";
import type { KeyringParts } from "./parts.js";
import { subjectKeyContext } from "./subject-keys.js";

export interface RewrapProgress {
  readonly phase: "subject-keys" | "ciphertexts";
  /** `subject keys` or `table.column`. */
  readonly target: string;
  readonly done: number;
  readonly total: number;
  readonly rewrapped: number;
}

export interface RewrapOptions {
  /** Rows per batch (default 500). */
  batchSize?: number;
  /** Called after each batch; a throw stops the run (it resumes next time). */
  onProgress?: (progress: RewrapProgress) => void | Promise<void>;
}

export interface RewrapResult {
  readonly target: KekRef;
  readonly subjectKeys: number;
  readonly ciphertexts: number;
  /** Values that could not be unwrapped (corrupt or under a retired version); retire stays refused while they exist. */
  readonly failed: number;
  /** `local` only: KEK version rows re-wrapped from an earlier master key to the current one. */
  readonly masterKeyRows: number;
}

const SECTION_MEMO_MAX = 10_000;

export async function rewrap(parts: KeyringParts, options: RewrapOptions = {}): Promise<RewrapResult> {
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`rewrap: batchSize must be a positive integer, instead got ${batchSize}`);
  const target = await parts.kek.current();
  const counts = { subjectKeys: 0, ciphertexts: 0, failed: 0 };
  // local: KEK rows still under an earlier master key (known from master-key-previous or a live rotation).
  const masterKeyRows = parts.kek instanceof LocalKek ? await parts.kek.rewrapOldMasterRows() : 0;
  await rewrapSubjectKeys(parts, target, batchSize, options, counts);
  for (const column of parts.columns) await rewrapColumn(parts, column, target, batchSize, options, counts);
  parts.log.info({ target: refString(target), masterKeyRows, ...counts }, "rewrap finished");
  return { target, masterKeyRows, ...counts };
}

type Counts = { subjectKeys: number; ciphertexts: number; failed: number };

async function rewrapSubjectKeys(parts: KeyringParts, target: KekRef, batchSize: number, o: RewrapOptions, counts: Counts): Promise<void> {
  const total = await parts.subjects.countStale(target);
  let done = 0;
  let after: string | undefined;
  for (;;) {
    const batch = await parts.subjects.stale(target, batchSize, after);
    if (batch.length === 0) break;
    for (const key of batch) {
      try {
        const dek = await parts.subjects.unwrap(key);
        const wrapped = await parts.kek.wrap(dek, subjectKeyContext(key.subject));
        zeroize(dek);
        if (await parts.subjects.replaceWrap(key, wrapped.ref, wrapped.wrapped)) counts.subjectKeys++;
      } catch (err) {
        if (!(err instanceof DecryptionFailed)) throw err;
        counts.failed++;
        parts.log.error({ kek: refString(key.ref) }, "rewrap: a subject key could not be unwrapped; it stays on its KEK version");
      }
    }
    done += batch.length;
    after = batch[batch.length - 1]!.subject;
    await o.onProgress?.({ phase: "subject-keys", target: "subject keys", done, total, rewrapped: counts.subjectKeys });
  }
}

async function rewrapColumn(parts: KeyringParts, column: CiphertextColumn, target: KekRef, batchSize: number, o: RewrapOptions, counts: Counts): Promise<void> {
  const { db } = parts;
  const name = columnName(column);
  const targetName = refString(target);
  const cursor = await db.selectFrom("rampart_rewrap_cursors").selectAll().where("name", "=", name).executeTakeFirst();
  let after = cursor && cursor.target === targetName ? cursor.last_id : undefined;
  const total = await countColumn(db, column);
  let done = after === undefined ? 0 : await countColumn(db, column, after);
  let rewrapped = 0;
  const memo = new Map<string, Buffer>();
  for (;;) {
    const rows = await scanColumn(db, column, after, batchSize);
    if (rows.length === 0) break;
    for (const row of rows) {
      const parsed = parseStored(row.value);
      const src = parsed?.header.keySource;
      if (!parsed || src?.kind !== "wrapped" || sameRef(src.ref, target)) continue;
      const memoKey = parsed.header.keySection.toString("latin1");
      let section = memo.get(memoKey);
      if (!section) {
        try {
          const dek = await parts.kek.unwrap(src.ref, src.wrapped, SHARED_KEY_CONTEXT);
          const w = await parts.kek.wrap(dek, SHARED_KEY_CONTEXT);
          zeroize(dek);
          section = encodeKeySection({ kind: "wrapped", ref: w.ref, wrapped: w.wrapped });
        } catch (err) {
          if (!(err instanceof DecryptionFailed)) throw err;
          counts.failed++;
          parts.log.error({ column: name, id: row.id, kek: refString(src.ref) }, "rewrap: a stored data key could not be unwrapped; the value stays on its KEK version");
          continue;
        }
        if (memo.size >= SECTION_MEMO_MAX) memo.clear();
        memo.set(memoKey, section);
      }
      const bytes = replaceKeySection(parsed.bytes, parsed.header, section);
      if (await replaceValue(db, column, row.id, row.value, typeof row.value === "string" ? toText(bytes) : bytes)) {
        rewrapped++;
        counts.ciphertexts++;
      }
    }
    after = rows[rows.length - 1]!.id;
    done += rows.length;
    await db
      .insertInto("rampart_rewrap_cursors")
      .values({ name, target: targetName, last_id: after, updated_at: new Date(parts.clock.now()) })
      .onConflict((oc) => oc.column("name").doUpdateSet({ target: targetName, last_id: after!, updated_at: new Date(parts.clock.now()) }))
      .execute();
    await o.onProgress?.({ phase: "ciphertexts", target: name, done, total, rewrapped });
  }
  // Finished: the next run scans from the start again (and finds only stragglers).
  await db.deleteFrom("rampart_rewrap_cursors").where("name", "=", name).execute();
}
