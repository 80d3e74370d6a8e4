import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BACKUP_CODE_COUNT, findBackupCode, formatBackupCode, generateBackupCodes, hashBackupCode, normalizeBackupCode } from "../../../src/auth/totp/index.js";

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const canonicalCode = fc.string({ unit: fc.constantFrom(...CROCKFORD), minLength: 12, maxLength: 12 });
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

describe("backup codes", () => {
  it("a set is 10 distinct codes of 12 Crockford base32 characters in groups of 4, with their SHA-256", () => {
    const set = generateBackupCodes();
    expect(set.codes).toHaveLength(BACKUP_CODE_COUNT);
    expect(BACKUP_CODE_COUNT).toBe(10);
    expect(new Set(set.codes).size).toBe(10);
    for (const [i, code] of set.codes.entries()) {
      expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/);
      expect(set.hashes[i]).toBe(sha256(code.replace(/-/g, "")));
    }
  });

  it("codes are uniformly spread over the alphabet (no bias a guesser could use)", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 200; i++) for (const c of generateBackupCodes().codes.join("").replace(/-/g, "")) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(32);
    // 24,000 draws over 32 symbols: 750 expected each; ±25% is > 9 standard deviations.
    for (const n of counts.values()) expect(Math.abs(n - 750)).toBeLessThan(190);
  });

  it("property: any typing of a code (case, spaces, hyphens, I/L for 1, O for 0) normalizes to it", () => {
    fc.assert(
      fc.property(canonicalCode, fc.boolean(), fc.constantFrom("-", " ", "", "  "), fc.constantFrom("1", "I", "i", "L", "l"), fc.constantFrom("0", "O", "o"), (code, upper, sep, one, zero) => {
        let typed = formatBackupCode(code).replace(/-/g, sep);
        if (upper) typed = typed.toUpperCase();
        typed = typed.replace(/1/g, one).replace(/0/g, zero);
        expect(normalizeBackupCode(typed)).toBe(code);
        expect(hashBackupCode(typed)).toBe(sha256(code));
      }),
    );
  });

  it("property: strings that are not 12 code characters never normalize", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const n = normalizeBackupCode(s);
        if (n !== null) expect(n).toMatch(/^[0-9a-hjkmnp-tv-z]{12}$/);
      }),
    );
    for (const bad of ["", "abcd-efgh-jkm", "abcd-efgh-jkmnp", "abcd-efgh-jkmu", "ünïc-ödeö-abcd"]) expect(normalizeBackupCode(bad), bad).toBeNull();
  });

  it("findBackupCode finds the matching stored hash, whatever its position", () => {
    const set = generateBackupCodes();
    for (const [i, code] of set.codes.entries()) expect(findBackupCode(code.toUpperCase(), set.hashes)).toBe(i);
    expect(findBackupCode(generateBackupCodes(1).codes[0] as string, set.hashes)).toBe(-1);
    expect(findBackupCode("not a code", set.hashes)).toBe(-1);
    expect(findBackupCode(set.codes[0] as string, [])).toBe(-1);
  });

  it("regeneration replaces every code: no old code is in the new set", () => {
    const before = generateBackupCodes();
    const after = generateBackupCodes();
    for (const code of before.codes) expect(findBackupCode(code, after.hashes)).toBe(-1);
  });

  it("a set has 1 to 100 codes; other sizes are refused", () => {
    expect(generateBackupCodes(1).codes).toHaveLength(1);
    expect(new Set(generateBackupCodes(100).hashes).size).toBe(100);
    for (const n of [0, 101, 2.5, Number.NaN]) expect(() => generateBackupCodes(n)).toThrow(RangeError);
    expect(() => generateBackupCodes(101)).toThrow("instead got 101");
  });

  it("input up to 64 characters is read; longer input is refused before any work", () => {
    const [code] = generateBackupCodes(1).codes as [string];
    const padded = (len: number) => code + " ".repeat(len - code.length);
    expect(normalizeBackupCode(padded(64))).toBe(code.replace(/-/g, ""));
    expect(normalizeBackupCode(padded(65))).toBeNull();
  });

  it("input that is not a code matches nothing, not even a stored hash of zeros", () => {
    const { codes, hashes } = generateBackupCodes(3);
    const stored = ["0".repeat(64), ...hashes];
    for (const bad of ["", "not a code", "0000-0000-000", "u".repeat(12)]) expect(findBackupCode(bad, stored)).toBe(-1);
    expect(findBackupCode(codes[1]!, stored)).toBe(2);
  });

  it("a malformed stored hash is skipped, not a crash", () => {
    const { codes, hashes } = generateBackupCodes(2);
    expect(findBackupCode(codes[1]!, ["abcd", "", hashes[0]!, hashes[1]!])).toBe(3);
  });

  it("with a hash stored twice, the first one is the one spent", () => {
    const { codes, hashes } = generateBackupCodes(1);
    expect(findBackupCode(codes[0]!, [hashes[0]!, hashes[0]!])).toBe(0);
  });
});
