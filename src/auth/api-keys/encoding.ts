/**
 * The encodings of the API key format: base62 (0-9A-Za-z: survives URLs,
 * headers and double-click selection) and CRC-32 (ISO-HDLC / IEEE 802.3, the
 * zlib and PNG checksum; check value of "123456789" is 0xCBF43926). zlib.crc32
 * only exists from Node 20.15, so the table-driven form is here.
 */
import { randomBytes } from "node:crypto";

export const BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `n` uniformly random base62 characters (rejection sampling: no modulo bias). */
export function randomBase62(n: number): string {
  let out = "";
  while (out.length < n) {
    for (const b of randomBytes(n + 8)) {
      // 248 = 4 × 62: bytes at or above it would favour the first 8 characters.
      if (b < 248) out += BASE62_ALPHABET[b % 62];
      if (out.length === n) break;
    }
  }
  return out;
}

/** A non-negative integer in base62, left-padded with "0" to `width` characters. */
export function toBase62(value: number, width: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`value must be a non-negative safe integer, instead got ${value}`);
  let out = "";
  let v = value;
  do {
    out = BASE62_ALPHABET[v % 62] + out;
    v = Math.floor(v / 62);
  } while (v > 0);
  return out.padStart(width, "0");
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (reflected polynomial 0xEDB88320) of the UTF-8 bytes of `data`, as an unsigned integer. */
export function crc32(data: string | Uint8Array): number {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
