/**
 * Blind indexes: keyed, per-index, normalized, truncatable. Expected values
 * are computed here independently with node:crypto's HKDF and HMAC from the
 * documented construction; RFC 5869 test case 1 checks the HKDF primitive.
 */
import { createHmac, hkdfSync } from "node:crypto";
import { describe, expect, it } from "vitest";
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
