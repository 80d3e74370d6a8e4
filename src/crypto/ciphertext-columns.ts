/**
 * Ciphertext columns that owners register so that rotation can find every
 * wrapped DEK stored in rp1 headers: `rewrap` rewrites their key sections,
 * `keys status` and `retire` count what depends on each KEK version. Values
 * may be text (`rp1:...`) or bytea; subject-key ciphertexts are skipped (their
 * keys are rewrapped in `rampart_subject_keys`). Scans page by the id column
 * (keyset pagination), so they are linear and resumable.
 */
import { sql, type Kysely } from "kysely";
import type { Tables } from "../db/tables.js";
import { asBuffer, MalformedInput } from "./bytes.js";
import { fromText, parseHeader, type Rp1Header } from "./format.js";

export interface CiphertextColumn {
  /** Table name, optionally schema-qualified (`schema.table`). */
  readonly table: string;
  readonly column: string;
  /** A unique, orderable column (primary key) used to page through the table. */
  readonly idColumn: string;
}

export interface ScannedRow {
  readonly id: string;
  readonly value: string | Uint8Array;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

export function validateColumn(c: CiphertextColumn): CiphertextColumn {
  for (const [name, v] of [["table", c.table], ["column", c.column], ["idColumn", c.idColumn]] as const) {
    if (!IDENT.test(v) || (name !== "table" && v.includes("."))) throw new TypeError(`registerCiphertextColumn: ${name} must be an SQL identifier, instead got '${v}'`);
  }
  return Object.freeze({ table: c.table, column: c.column, idColumn: c.idColumn });
}

export function columnName(c: CiphertextColumn): string {
  return `${c.table}.${c.column}`;
}

/** The next page of non-null values after `afterId` (exclusive), ordered by id. */
export async function scanColumn(db: Kysely<Tables>, c: CiphertextColumn, afterId: string | undefined, limit: number): Promise<ScannedRow[]> {
  const id = sql.ref(c.idColumn);
  const col = sql.ref(c.column);
  const after = afterId === undefined ? sql`` : sql`and ${id} > ${afterId}`;
  // The text alias must not be named like the id column: ORDER BY would sort by the text.
  const res = await sql<{ rampart_id: string; rampart_value: string | Uint8Array }>`select ${id}::text as rampart_id, ${col} as rampart_value from ${sql.table(c.table)} where ${col} is not null ${after} order by ${id} limit ${limit}`.execute(db);
  return res.rows.map((r) => ({ id: r.rampart_id, value: r.rampart_value }));
}

export async function countColumn(db: Kysely<Tables>, c: CiphertextColumn, upToId?: string): Promise<number> {
  const id = sql.ref(c.idColumn);
  const upTo = upToId === undefined ? sql`` : sql`and ${id} <= ${upToId}`;
  const res = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(c.table)} where ${sql.ref(c.column)} is not null ${upTo}`.execute(db);
  return Number(res.rows[0]?.n ?? 0);
}

/** Writes a rewrapped value only if the stored value is still the one read (a concurrent write wins). */
export async function replaceValue(db: Kysely<Tables>, c: CiphertextColumn, id: string, oldValue: string | Uint8Array, newValue: string | Buffer): Promise<boolean> {
  const res = await sql`update ${sql.table(c.table)} set ${sql.ref(c.column)} = ${newValue} where ${sql.ref(c.idColumn)} = ${id} and ${sql.ref(c.column)} = ${oldValue}`.execute(db);
  return Number(res.numAffectedRows ?? 0n) > 0;
}

/** Parses a stored value into bytes and header; undefined when it is not an rp1 message. */
export function parseStored(value: string | Uint8Array): { bytes: Buffer; header: Rp1Header } | undefined {
  try {
    const bytes = typeof value === "string" ? fromText(value) : asBuffer(value);
    return { bytes, header: parseHeader(bytes) };
  } catch (err) {
    if (err instanceof MalformedInput) return undefined;
    throw err;
  }
}
