/**
 * API keys: `rp_<id>_<secret><checksum>`, e.g.
 * `rp_4fG7kQ2mZp9X_Vb3...(32)...Xy1aB2` (54 characters).
 *   - id: 12 base62 characters (~71 bits), the lookup key; `rp_<id>` is the
 *     displayable prefix that identifies a key without revealing it;
 *   - secret: 32 base62 characters (~190 bits, over the 128 required);
 *   - checksum: CRC-32 of everything before it, 6 base62 characters, in the
 *     manner of GitHub's token format: secret scanners recognise a real key
 *     offline, and a mistyped or truncated key is refused before any lookup.
 * Only SHA-256 of the whole key is stored (docs/architecture.md: SHA-256 of
 * high-entropy values); comparisons are constant-time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { crc32, randomBase62, toBase62 } from "./encoding.js";

export const API_KEY_PREFIX = "rp_";
export const API_KEY_ID_LENGTH = 12;
export const API_KEY_SECRET_LENGTH = 32;
export const API_KEY_CHECKSUM_LENGTH = 6;
const SHAPE = /^rp_([0-9A-Za-z]{12})_[0-9A-Za-z]{32}([0-9A-Za-z]{6})$/;

export interface GeneratedApiKey {
  /** The whole key: shown to its owner once, never stored. */
  readonly key: string;
  /** The lookup id (store it; unique). */
  readonly id: string;
  /** `rp_<id>`: safe to store and display. */
  readonly prefix: string;
  /** SHA-256 hex of the key: store it. */
  readonly hash: string;
}

export interface ParsedApiKey {
  readonly id: string;
  readonly prefix: string;
}

/** A fresh key with its id, display prefix and hash. */
export function generateApiKey(): GeneratedApiKey {
  const id = randomBase62(API_KEY_ID_LENGTH);
  const body = `${API_KEY_PREFIX}${id}_${randomBase62(API_KEY_SECRET_LENGTH)}`;
  const key = body + checksumOf(body);
  return { key, id, prefix: `${API_KEY_PREFIX}${id}`, hash: hashApiKey(key) };
}

/**
 * The id of a well-formed key whose checksum is right; null otherwise. Call it
 * before any lookup: a random or corrupted string costs no database query.
 */
export function parseApiKey(key: string): ParsedApiKey | null {
  const m = SHAPE.exec(key);
  if (!m) return null;
  const id = m[1] as string;
  const body = key.slice(0, key.length - API_KEY_CHECKSUM_LENGTH);
  // The checksum is public information, not a secret: a plain compare is fine.
  if (checksumOf(body) !== m[2]) return null;
  return { id, prefix: `${API_KEY_PREFIX}${id}` };
}

/** Whether a bearer credential is meant as an API key (rather than a JWT). */
export function isApiKeyShaped(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

/** SHA-256 hex of a key. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Constant-time comparison of a presented key with a stored hash. */
export function apiKeyMatchesHash(key: string, storedHash: string): boolean {
  const a = Buffer.from(hashApiKey(key), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The stored fields authenticateApiKey needs (map your row to it). */
export interface StoredApiKey {
  /** SHA-256 hex from generateApiKey(). */
  readonly hash: string;
  readonly expiresAt?: Date | null;
  readonly revokedAt?: Date | null;
}

/**
 * Resolves a presented key to its stored record, or null for any failure
 * (malformed, bad checksum, unknown id, wrong secret, revoked, expired), the
 * same null whatever the reason. `findById` is not called when the key does
 * not parse.
 */
export async function authenticateApiKey<T extends StoredApiKey>(key: string, findById: (id: string) => Promise<T | null>, nowMs: number): Promise<T | null> {
  const parsed = parseApiKey(key);
  if (!parsed) return null;
  const record = await findById(parsed.id);
  // Hash and compare even for an unknown id, so both paths do the same work.
  const matches = apiKeyMatchesHash(key, record?.hash ?? "00".repeat(32));
  if (!record || !matches) return null;
  if (record.revokedAt) return null;
  if (record.expiresAt && record.expiresAt.getTime() <= nowMs) return null;
  return record;
}

function checksumOf(body: string): string {
  return toBase62(crc32(body), API_KEY_CHECKSUM_LENGTH);
}
