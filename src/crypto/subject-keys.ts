/**
 * Per-subject data keys in `rampart_subject_keys`: one DEK per subject (a
 * user, a tenant), stored wrapped by the KEK, created on first use. Messages
 * encrypted for a subject carry only the random 16-byte key id, never the
 * wrapped DEK, so deleting the row (shred) leaves no copy of the key in any
 * ciphertext: every copy of that subject's data, in backups and exports too,
 * becomes undecryptable. (A database backup holds the row itself until the
 * KEK version that wrapped it is retired; docs/crypto.md.)
 *
 * Creation is race-safe across instances: `insert ... on conflict (subject)
 * do nothing`, and the loser discards its DEK and reads the winner's row, so
 * two concurrent first uses end with one key.
 */
import { randomBytes } from "node:crypto";
import { sql, type Kysely, type Selectable } from "kysely";
import type { SubjectKeysTable, Tables } from "../db/tables.js";
import type { Clock } from "../runtime/clock.js";
import { asBuffer, zeroize } from "./bytes.js";
import type { EncryptionContext } from "./context.js";
import { SUBJECT_KEY_ID_BYTES } from "./format.js";
import type { KekProvider, KekProviderName, KekRef } from "./kek/types.js";

export interface SubjectKey {
  readonly subject: string;
  readonly keyId: Buffer;
  readonly ref: KekRef;
  readonly wrapped: Buffer;
}

/** The key context a subject DEK is wrapped with: binds the wrapped key to its subject. */
export function subjectKeyContext(subject: string): EncryptionContext {
  return { "rampart:purpose": "subject-dek", "rampart:subject": subject };
}

function toKey(row: Selectable<SubjectKeysTable>): SubjectKey {
  return {
    subject: row.subject,
    keyId: asBuffer(row.key_id),
    ref: { provider: row.kek_provider as KekProviderName, keyId: row.kek_key_id, version: row.kek_version },
    wrapped: asBuffer(row.wrapped_dek),
  };
}

export class SubjectKeyStore {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly kek: KekProvider,
    private readonly clock: Clock,
  ) {}

  async find(subject: string): Promise<SubjectKey | undefined> {
    const row = await this.db.selectFrom("rampart_subject_keys").selectAll().where("subject", "=", subject).executeTakeFirst();
    return row && toKey(row);
  }

  async findByKeyId(keyId: Buffer): Promise<SubjectKey | undefined> {
    const row = await this.db.selectFrom("rampart_subject_keys").selectAll().where("key_id", "=", keyId).executeTakeFirst();
    return row && toKey(row);
  }

  /** Unwraps a stored subject key (one KEK call); DecryptionFailed if the KEK rejects it. */
  unwrap(key: SubjectKey): Promise<Buffer> {
    return this.kek.unwrap(key.ref, key.wrapped, subjectKeyContext(key.subject));
  }

  /** The subject's key and its plaintext DEK (caller owns and zeroizes it), created when absent. */
  async getOrCreate(subject: string): Promise<{ key: SubjectKey; dek: Buffer }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.find(subject);
      if (existing) return { key: existing, dek: await this.unwrap(existing) };
      const gen = await this.kek.generateDataKey(subjectKeyContext(subject));
      const keyId = randomBytes(SUBJECT_KEY_ID_BYTES);
      const row = await this.db
        .insertInto("rampart_subject_keys")
        .values({ subject, key_id: keyId, kek_provider: gen.ref.provider, kek_key_id: gen.ref.keyId, kek_version: gen.ref.version, wrapped_dek: gen.wrapped })
        .onConflict((oc) => oc.column("subject").doNothing())
        .returningAll()
        .executeTakeFirst();
      if (row) return { key: toKey(row), dek: gen.dek };
      // Another instance created it first: use theirs so the subject has one key.
      zeroize(gen.dek);
    }
    throw new Error(`subject key for '${subject}' kept being deleted while it was created (concurrent shred)`);
  }

  /** Deletes the subject's key; returns its key id, or undefined when it had none. */
  async delete(subject: string): Promise<Buffer | undefined> {
    const row = await this.db.deleteFrom("rampart_subject_keys").where("subject", "=", subject).returning("key_id").executeTakeFirst();
    return row && asBuffer(row.key_id);
  }

  /** Number of subject keys per KEK version. */
  async countByRef(): Promise<{ ref: KekRef; count: number }[]> {
    const rows = await this.db
      .selectFrom("rampart_subject_keys")
      .select(["kek_provider", "kek_key_id", "kek_version", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy(["kek_provider", "kek_key_id", "kek_version"])
      .execute();
    return rows.map((r) => ({ ref: { provider: r.kek_provider as KekProviderName, keyId: r.kek_key_id, version: r.kek_version }, count: Number(r.n) }));
  }

  /** Up to `limit` keys not wrapped by `current`, by subject after `after` (keyset pagination). */
  async stale(current: KekRef, limit: number, after?: string): Promise<SubjectKey[]> {
    let q = this.db
      .selectFrom("rampart_subject_keys")
      .selectAll()
      .where(sql<boolean>`(kek_provider, kek_key_id, kek_version) <> (${current.provider}, ${current.keyId}, ${current.version})`);
    if (after !== undefined) q = q.where("subject", ">", after);
    const rows = await q.orderBy("subject").limit(limit).execute();
    return rows.map(toKey);
  }

  async countStale(current: KekRef): Promise<number> {
    const row = await this.db
      .selectFrom("rampart_subject_keys")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where(sql<boolean>`(kek_provider, kek_key_id, kek_version) <> (${current.provider}, ${current.keyId}, ${current.version})`)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Stores a re-wrapped DEK, only if the row still has the old wrap (a concurrent shred or rewrap wins). */
  async replaceWrap(key: SubjectKey, ref: KekRef, wrapped: Buffer): Promise<boolean> {
    const res = await this.db
      .updateTable("rampart_subject_keys")
      .set({ kek_provider: ref.provider, kek_key_id: ref.keyId, kek_version: ref.version, wrapped_dek: wrapped, rewrapped_at: new Date(this.clock.now()) })
      .where("key_id", "=", key.keyId)
      .where("wrapped_dek", "=", key.wrapped)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}
