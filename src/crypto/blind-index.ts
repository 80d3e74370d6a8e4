/**
 * Blind indexes: equality lookups on encrypted columns (the email at login)
 * without storing or querying plaintext. Each index has its own key, derived
 * with HKDF-SHA-256 (RFC 5869) from the `blind-index-key` secret and the index
 * name, so two indexes over the same value are unlinkable. The index value is
 * HMAC-SHA-256 over the normalized value, base64url.
 *
 * Truncation: a full 256-bit index is unique and reveals equality only. For a
 * low-entropy field (birth year, postcode) a full index is a dictionary away
 * from the value, so such indexes are truncated (e.g. 16 bits): every lookup
 * then returns a few candidate rows, and the caller decrypts and compares them
 * (filterCandidates). The unique email index stays full length.
 */
import { createHmac, hkdfSync } from "node:crypto";

export type Normalizer = "email" | "none" | ((value: string) => string);

export interface BlindIndexOptions {
  /** How values are normalized before hashing; default "none". */
  normalize?: Normalizer;
  /** Output bits, 8..256; default 256 (unique). */
  bits?: number;
}

/** Email normalization: Unicode NFKC, trimmed, lower-cased. */
export function normalizeEmail(value: string): string {
  return value.normalize("NFKC").trim().toLowerCase();
}

export function deriveIndexKey(root: Buffer, name: string): Buffer {
  return Buffer.from(hkdfSync("sha256", root, Buffer.alloc(0), `rampart blind index: ${name}`, 32));
}

export class BlindIndex {
  readonly bits: number;
  private readonly normalizer: (value: string) => string;

  constructor(
    readonly name: string,
    private readonly key: Buffer,
    options: BlindIndexOptions = {},
  ) {
    const bits = options.bits ?? 256;
    if (!Number.isInteger(bits) || bits < 8 || bits > 256) throw new RangeError(`blind index '${name}': bits must be an integer from 8 to 256, instead got ${bits}`);
    this.bits = bits;
    const n = options.normalize ?? "none";
    this.normalizer = n === "email" ? normalizeEmail : n === "none" ? (v) => v : n;
  }

  normalize(value: string): string {
    return this.normalizer(value);
  }

  /** The index value for `value` (normalized first). */
  compute(value: string): string {
    const mac = createHmac("sha256", this.key).update(this.normalize(value), "utf8").digest();
    const bytes = Math.ceil(this.bits / 8);
    const out = mac.subarray(0, bytes);
    const spare = bytes * 8 - this.bits;
    if (spare > 0) out[bytes - 1] = out[bytes - 1]! & (0xff << spare);
    return out.toString("base64url");
  }

  /**
   * Candidate rows from a (truncated) index lookup, kept only when their
   * decrypted value normalizes to the same value as `value`.
   */
  async filterCandidates<T>(rows: readonly T[], value: string, decrypt: (row: T) => Promise<string>): Promise<T[]> {
    const wanted = this.normalize(value);
    const out: T[] = [];
    for (const row of rows) if (this.normalize(await decrypt(row)) === wanted) out.push(row);
    return out;
  }

  /** Zeroizes the index key (keyring close). */
  destroy(): void {
    this.key.fill(0);
  }
}
