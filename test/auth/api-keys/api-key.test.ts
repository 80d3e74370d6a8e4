import { createHash } from "node:crypto";
import { crc32 as zlibCrc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { apiKeyMatchesHash, BASE62_ALPHABET, crc32, generateApiKey, hashApiKey, isApiKeyShaped, parseApiKey, randomBase62, toBase62 } from "../../../src/auth/api-keys/index.js";

const FORMAT = /^rp_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}[0-9A-Za-z]{6}$/;

/** Base62 decoding written independently of the code under test. */
function fromBase62(s: string): number {
  return [...s].reduce((n, c) => n * 62 + BASE62_ALPHABET.indexOf(c), 0);
}

describe("API key format", () => {
  it("is rp_ + 12-character id + _ + 32-character secret (≥ 128 bits) + 6-character checksum", () => {
    const k = generateApiKey();
    expect(k.key).toMatch(FORMAT);
    expect(k.key).toHaveLength(54);
    expect(k.prefix).toBe(`rp_${k.id}`);
    expect(k.key.startsWith(`${k.prefix}_`)).toBe(true);
    // 32 base62 characters carry 32 × log2(62) ≈ 190 bits.
    expect(32 * Math.log2(62)).toBeGreaterThan(128);
    expect(k.hash).toBe(createHash("sha256").update(k.key).digest("hex"));
  });

  it("the checksum is CRC-32 of everything before it, in base62 (checked with zlib's CRC-32)", () => {
    for (let i = 0; i < 20; i++) {
      const { key } = generateApiKey();
      const body = key.slice(0, -6);
      expect(fromBase62(key.slice(-6))).toBe(zlibCrc32(body));
    }
  });

  it("CRC-32 matches the standard check value and zlib on arbitrary input", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => crc32(bytes) === zlibCrc32(bytes)));
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (s) => crc32(s) === zlibCrc32(s)));
  });

  it("base62 encoding round-trips with fixed width", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const s = toBase62(n, 6);
        expect(s).toHaveLength(6);
        expect(fromBase62(s)).toBe(n);
      }),
    );
    // 62^6 > 2^32: every CRC fits in six characters.
    expect(62 ** 6).toBeGreaterThan(2 ** 32);
  });

  it("random base62 is unbiased enough: every character appears near its expected count", () => {
    const counts = new Map<string, number>();
    for (const c of randomBase62(62_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(200);
  });

  it("property: every generated key parses back to its id and prefix", () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const k = generateApiKey();
        expect(parseApiKey(k.key)).toEqual({ id: k.id, prefix: k.prefix });
        expect(isApiKeyShaped(k.key)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("property: any single-character change is rejected by the checksum", () => {
    const k = generateApiKey();
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 53 }), fc.constantFrom(...BASE62_ALPHABET), (pos, c) => {
        fc.pre(pos !== 15 && k.key[pos] !== c);
        const mutated = k.key.slice(0, pos) + c + k.key.slice(pos + 1);
        expect(parseApiKey(mutated)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it("rejects malformed keys", () => {
    const { key } = generateApiKey();
    for (const bad of ["", "rp_", key.slice(0, -1), `${key}0`, key.replace("rp_", "rk_"), key.replace(/_/g, "-"), ` ${key}`, key.toUpperCase()]) {
      expect(parseApiKey(bad), bad).toBeNull();
    }
    expect(isApiKeyShaped("eyJhbGciOiJFZERTQSJ9.e30.sig")).toBe(false);
  });

  it("hash comparison is against the SHA-256 of the whole key", () => {
    const k = generateApiKey();
    expect(hashApiKey(k.key)).toBe(k.hash);
    expect(apiKeyMatchesHash(k.key, k.hash)).toBe(true);
    expect(apiKeyMatchesHash(generateApiKey().key, k.hash)).toBe(false);
    expect(apiKeyMatchesHash(k.key, "abc")).toBe(false);
    expect(apiKeyMatchesHash(k.key, "")).toBe(false);
  });
});

describe("base62 encodings", () => {
  it("randomBase62 returns exactly n alphabet characters for any n, short ones included", () => {
    for (let n = 0; n <= 70; n++) {
      const s = randomBase62(n);
      expect(s).toHaveLength(n);
      for (const c of s) expect(BASE62_ALPHABET).toContain(c);
    }
  });

  it("randomBase62 does not favour the first 8 characters (no modulo bias from 256 = 4 × 62 + 8)", () => {
    const counts = new Map<string, number>();
    for (const c of randomBase62(248_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    const mean = (chars: string) => [...chars].reduce((n, c) => n + (counts.get(c) ?? 0), 0) / chars.length;
    // Unbiased, each character appears 4000 ± 63 times; keeping bytes >= 248 would give the first 8 a quarter more.
    expect(mean(BASE62_ALPHABET.slice(0, 8)) / mean(BASE62_ALPHABET.slice(8))).toBeLessThan(1.08);
  });

  it("toBase62 encodes 0 and pads to the width; refuses negative and unsafe values", () => {
    expect(toBase62(0, 3)).toBe("000");
    expect(toBase62(61, 1)).toBe("z");
    expect(toBase62(62, 1)).toBe("10");
    expect(toBase62(Number.MAX_SAFE_INTEGER, 1)).toHaveLength(9);
    for (const v of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) expect(() => toBase62(v, 6)).toThrow(RangeError);
    expect(() => toBase62(-1, 6)).toThrow("instead got -1");
  });

  it("crc32 of bytes equals crc32 of the same UTF-8 text", () => {
    expect(crc32(Buffer.from("Ünïcode ✓", "utf8"))).toBe(crc32("Ünïcode ✓"));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});
