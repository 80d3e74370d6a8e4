/**
 * Blind indexes: keyed, per-index, normalized, truncatable. Expected values
 * are computed here independently with node:crypto's HKDF and HMAC from the
 * documented construction; RFC 5869 test case 1 checks the HKDF primitive.
 */
import { createHmac, hkdfSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BlindIndex, deriveIndexKey } from "../../src/crypto/blind-index.js";
import { normalizeEmail } from "../../src/crypto/index.js";
import { MemorySecrets, useKeyringHarness } from "./helpers.js";

const k = useKeyringHarness();

describe("blind indexes", () => {
  it("HKDF-SHA-256 matches RFC 5869 A.1", () => {
    const okm = hkdfSync("sha256", Buffer.alloc(22, 0x0b), Buffer.from("000102030405060708090a0b0c", "hex"), Buffer.from("f0f1f2f3f4f5f6f7f8f9", "hex"), 42);
    expect(Buffer.from(okm).toString("hex")).toBe("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  });

  it("the email index is HMAC-SHA-256 under an HKDF-derived per-index key, full length", async () => {
    const idx = await k.keyring.blindIndex("users.email", { normalize: "email" });
    const root = Buffer.from(await k.harness.secrets.get("blind-index-key"), "base64");
    const key = Buffer.from(hkdfSync("sha256", root, Buffer.alloc(0), "rampart blind index: users.email", 32));
    const expected = createHmac("sha256", key).update("alice@example.com").digest("base64url");
    expect(idx.compute("alice@example.com")).toBe(expected);
    expect(Buffer.from(idx.compute("x"), "base64url")).toHaveLength(32);
  });

  it("email normalization: NFKC, trim, lowercase", async () => {
    const idx = await k.keyring.blindIndex("users.email", { normalize: "email" });
    expect(normalizeEmail("  Alice@Example.COM ")).toBe("alice@example.com");
    // Fullwidth letters and the "ﬁ" ligature normalize under NFKC.
    expect(idx.compute("ＡＬＩＣＥ@example.com")).toBe(idx.compute("alice@example.com"));
    expect(idx.compute("oﬁce@example.com")).toBe(idx.compute("ofice@example.com"));
    expect(idx.compute("alice@example.com")).not.toBe(idx.compute("alice@example.org"));
  });

  it("different indexes over the same value are unlinkable; another root key gives other values", async () => {
    const a = await k.keyring.blindIndex("users.email", { normalize: "email" });
    const b = await k.keyring.blindIndex("audit.email", { normalize: "email" });
    expect(a.compute("alice@example.com")).not.toBe(b.compute("alice@example.com"));
    const other = await k.harness.peer({ secrets: new MemorySecrets({ "master-key": await k.harness.secrets.get("master-key"), "blind-index-key": Buffer.alloc(32, 1).toString("hex") }) });
    expect((await other.blindIndex("users.email", { normalize: "email" })).compute("alice@example.com")).not.toBe(a.compute("alice@example.com"));
  });

  it("truncation keeps the configured number of bits and candidates are filtered by decrypt-and-compare", async () => {
    const idx = await k.keyring.blindIndex("users.birth_year", { bits: 12 });
    const v = Buffer.from(idx.compute("1984"), "base64url");
    expect(v).toHaveLength(2);
    expect(v[1]! & 0x0f).toBe(0);
    // A 12-bit index matches about one value in 4096 by chance: lookups return candidates to decrypt and compare.
    const rows = await Promise.all(["1984", "1985", "1984"].map(async (y, i) => ({ id: i, year: await k.keyring.encrypt(y, { id: String(i) }) })));
    const hits = await idx.filterCandidates(rows, "1984", async (r) => k.keyring.decryptString(r.year, { id: String(r.id) }));
    expect(hits.map((r) => r.id)).toEqual([0, 2]);
  });

  it("one definition per name; options are validated", async () => {
    await expect(k.keyring.blindIndex("users.email", { normalize: "none" })).rejects.toThrow("already defined with other options");
    await expect(k.keyring.blindIndex("x", { bits: 4 })).rejects.toThrow("bits must be an integer from 8 to 256, instead got 4");
  });
});

describe("BlindIndex", () => {
  const root = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
  const hmac = (key: Buffer, value: string) => createHmac("sha256", key).update(value, "utf8").digest();
  const values = ["1984", "alice@example.com", "Ünïcode", "", "x", "0", "postcode 12345", "z".repeat(100)];

  it("derives each index key with HKDF-SHA-256, info `rampart blind index: <name>`", () => {
    const expected = Buffer.from(hkdfSync("sha256", root, Buffer.alloc(0), "rampart blind index: users.email", 32));
    expect(deriveIndexKey(root, "users.email").equals(expected)).toBe(true);
    expect(deriveIndexKey(root, "users.phone").equals(expected)).toBe(false);
  });

  it("by default is a full 256-bit HMAC of the value as given (no normalization)", () => {
    const key = deriveIndexKey(root, "t");
    const idx = new BlindIndex("t", key);
    expect(idx.bits).toBe(256);
    for (const v of values) expect(idx.compute(v)).toBe(hmac(key, v).toString("base64url"));
    expect(idx.compute("Alice ")).not.toBe(idx.compute("alice"));
  });

  it("truncates to the configured bits, zeroing the unused low bits of the last byte", () => {
    const key = deriveIndexKey(root, "t");
    for (const bits of [8, 12, 13, 16, 255]) {
      const idx = new BlindIndex("t", key, { bits });
      const bytes = Math.ceil(bits / 8);
      const spare = bytes * 8 - bits;
      for (const v of values) {
        const expected = hmac(key, v).subarray(0, bytes);
        expected[bytes - 1] = expected[bytes - 1]! & ((0xff << spare) & 0xff);
        expect(Buffer.from(idx.compute(v), "base64url").equals(expected), `${bits} bits of '${v}'`).toBe(true);
      }
    }
  });

  it("accepts 8 to 256 bits and refuses anything else, naming the index and the value", () => {
    const key = deriveIndexKey(root, "t");
    expect(new BlindIndex("t", key, { bits: 8 }).bits).toBe(8);
    expect(new BlindIndex("t", key, { bits: 256 }).bits).toBe(256);
    for (const bits of [7, 257, 12.5, 0]) expect(() => new BlindIndex("t", key, { bits })).toThrow(`blind index 't': bits must be an integer from 8 to 256, instead got ${bits}`);
  });

  it("normalizes as configured: none, email, or the given function", () => {
    const key = deriveIndexKey(root, "t");
    const none = new BlindIndex("t", key, { normalize: "none" });
    const email = new BlindIndex("t", key, { normalize: "email" });
    const digits = new BlindIndex("t", key, { normalize: (v) => v.replace(/\D/g, "") });
    expect(none.normalize(" A@B.C ")).toBe(" A@B.C ");
    expect(email.normalize(" A@B.C ")).toBe("a@b.c");
    expect(digits.normalize("+1 (555) 010")).toBe("1555010");
    expect(digits.compute("+1 (555) 010")).toBe(hmac(key, "1555010").toString("base64url"));
    expect(email.compute(" A@B.C ")).toBe(hmac(key, "a@b.c").toString("base64url"));
  });

  it("destroy zeroizes the key", () => {
    const key = deriveIndexKey(root, "t");
    new BlindIndex("t", key).destroy();
    expect(key.equals(Buffer.alloc(32))).toBe(true);
  });
});
