/**
 * MFA backup (recovery) codes: 10 single-use codes of 12 Crockford base32
 * characters (60 bits each, shown in three groups of four, e.g. `7K2M-9QDR-H4TX`), stored only as
 * SHA-256 (docs/architecture.md: SHA-256 of high-entropy values; 60 bits make an offline
 * search of one code cost ~2^59 hashes). Input is forgiving the way Crockford
 * base32 intends: case, spaces and hyphens are ignored, and I/L read as 1, O
 * as 0. Pure functions: the caller stores the hashes and must delete a used
 * one with a conditional write (exactly one concurrent use succeeds).
 */
import { createHash, randomInt, timingSafeEqual } from "node:crypto";

/** Codes in a set (regeneration replaces the whole set). */
export const BACKUP_CODE_COUNT = 10;
/** Characters per code (5 bits each). */
export const BACKUP_CODE_LENGTH = 12;
const GROUP = 4;
// Crockford's base32 alphabet: no I, L, O, U.
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const CANONICAL = new RegExp(`^[${ALPHABET}]{${BACKUP_CODE_LENGTH}}$`);

export interface BackupCodeSet {
  /** Shown to the user once, formatted in three groups of four characters. */
  readonly codes: readonly string[];
  /** SHA-256 hex of each code's canonical form, in the same order: what is stored. */
  readonly hashes: readonly string[];
}

/** A fresh set of distinct codes and their hashes. */
export function generateBackupCodes(count: number = BACKUP_CODE_COUNT): BackupCodeSet {
  if (!Number.isSafeInteger(count) || count < 1 || count > 100) throw new RangeError(`count must be an integer from 1 to 100, instead got ${count}`);
  const canonical = new Set<string>();
  while (canonical.size < count) {
    let c = "";
    for (let i = 0; i < BACKUP_CODE_LENGTH; i++) c += ALPHABET[randomInt(ALPHABET.length)];
    canonical.add(c);
  }
  const list = [...canonical];
  return { codes: list.map(formatBackupCode), hashes: list.map(sha256Hex) };
}

/** `abcd-efgh-jkmn` from a canonical code. */
export function formatBackupCode(canonical: string): string {
  const groups: string[] = [];
  for (let i = 0; i < canonical.length; i += GROUP) groups.push(canonical.slice(i, i + GROUP));
  return groups.join("-");
}

/** The canonical form of what a user typed, or null when it cannot be a backup code. */
export function normalizeBackupCode(input: string): string | null {
  if (input.length > 64) return null;
  const c = input
    .toLowerCase()
    .replace(/[\s-]/g, "")
    .replace(/[il]/g, "1")
    .replace(/o/g, "0");
  return CANONICAL.test(c) ? c : null;
}

/** SHA-256 hex of a code's canonical form; null when the input is not a code. */
export function hashBackupCode(input: string): string | null {
  const c = normalizeBackupCode(input);
  return c === null ? null : sha256Hex(c);
}

/**
 * Index of the stored hash matching the input, or -1. Every stored hash is
 * compared in constant time and the loop never exits early, so timing tells
 * neither whether nor where a code matched.
 */
export function findBackupCode(input: string, storedHashes: readonly string[]): number {
  const candidate = Buffer.from(hashBackupCode(input) ?? "0".repeat(64), "hex");
  const valid = normalizeBackupCode(input) !== null;
  let found = -1;
  for (let i = 0; i < storedHashes.length; i++) {
    const stored = Buffer.from(storedHashes[i] ?? "", "hex");
    const same = stored.length === candidate.length && timingSafeEqual(stored, candidate);
    if (same && valid && found === -1) found = i;
  }
  return found;
}

export type BackupCodeUse = { readonly ok: true; readonly usedHash: string; readonly remaining: readonly string[] } | { readonly ok: false };

/**
 * The pure single-use step: which stored hash the input spends and the set
 * left afterwards. Persist it with a conditional delete of `usedHash` (e.g.
 * `DELETE ... WHERE user_id = $1 AND code_hash = $2` and check one row went).
 */
export function useBackupCode(input: string, storedHashes: readonly string[]): BackupCodeUse {
  const i = findBackupCode(input, storedHashes);
  if (i < 0) return { ok: false };
  const usedHash = storedHashes[i] as string;
  return { ok: true, usedHash, remaining: storedHashes.filter((_, j) => j !== i) };
}

function sha256Hex(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}
