/**
 * Message-key reuse (src/crypto/message-keys.ts): a salt serves a bounded
 * number of messages with distinct random IVs, then a fresh salt and key are
 * drawn; opening keys are cached per DEK only after the commitment matched,
 * the commitment is still checked on a cache hit, the cache is bounded, and
 * every derived key is zeroized when the DEK leaves memory. Messages written
 * under a reused salt decrypt in another instance that never saw them.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecryptionFailed, type Keyring } from "../../src/crypto/index.js";
import { parseHeader, fromText } from "../../src/crypto/format.js";
import { MESSAGES_PER_SALT, MessageKeys, OPEN_CACHE_SIZE } from "../../src/crypto/message-keys.js";
import { deriveMessageKey, extractPrk } from "../../src/crypto/key-schedule.js";
import { RandomPool } from "../../src/crypto/random.js";
import { keyringHarness, type KeyringHarness } from "./helpers.js";

const zero = (b: Buffer) => b.every((x) => x === 0);

describe("message keys of one DEK", () => {
  it("a salt seals MESSAGES_PER_SALT messages, then a fresh salt and key are drawn and the old key is zeroized", () => {
    const keys = new MessageKeys(extractPrk(randomBytes(32)));
    const random = new RandomPool();
    const first = keys.forSealing(random);
    const salt = Buffer.from(first.salt);
    const key = Buffer.from(first.key);
    for (let i = 1; i < MESSAGES_PER_SALT; i++) expect(keys.forSealing(random)).toBe(first);
    const next = keys.forSealing(random);
    expect(next.salt.equals(salt)).toBe(false);
    expect(next.key.equals(key)).toBe(false);
    expect(zero(first.key) && zero(first.commitment)).toBe(true);
    // The derived key is exactly HKDF-Expand(PRK, info ‖ salt): any reader derives it from the salt alone.
    expect(deriveMessageKey(keys.prk, next.salt).key.equals(next.key)).toBe(true);
  });

  it("opening checks the commitment on a miss and on a hit, and caches only matching keys", () => {
    const keys = new MessageKeys(extractPrk(randomBytes(32)));
    const salt = randomBytes(32);
    const good = deriveMessageKey(keys.prk, salt);
    const bad = Buffer.from(good.commitment);
    bad[0]! ^= 1;
    expect(() => keys.forOpening(salt, bad)).toThrow(DecryptionFailed);
    expect(keys.forOpening(salt, good.commitment).equals(good.key)).toBe(true);
    const cached = keys.forOpening(salt, good.commitment);
    expect(keys.forOpening(salt, good.commitment)).toBe(cached);
    expect(() => keys.forOpening(salt, bad)).toThrow(DecryptionFailed);
  });

  it("the opening cache is bounded: the oldest key is evicted and zeroized; destroy zeroizes everything", () => {
    const keys = new MessageKeys(extractPrk(randomBytes(32)));
    const opened: Buffer[] = [];
    for (let i = 0; i <= OPEN_CACHE_SIZE; i++) {
      const salt = randomBytes(32);
      opened.push(keys.forOpening(salt, deriveMessageKey(keys.prk, salt).commitment));
    }
    expect(zero(opened[0]!)).toBe(true);
    expect(opened.slice(1).some(zero)).toBe(false);
    const sealing = keys.forSealing(new RandomPool());
    keys.destroy();
    expect(zero(keys.prk)).toBe(true);
    expect(opened.every(zero)).toBe(true);
    expect(zero(sealing.key) && zero(sealing.commitment)).toBe(true);
  });
});

describe("keyring: messages under a reused salt", () => {
  let h: KeyringHarness;
  let reader: Keyring;

  beforeAll(async () => {
    h = await keyringHarness("embedded");
    reader = await h.peer();
  });
  afterAll(async () => h.done());

  it("share the salt, never the IV, and decrypt in another instance; a moved ciphertext still fails", async () => {
    const n = 200;
    const cts = await Promise.all(Array.from({ length: n }, (_, i) => h.keyring.encrypt(`value ${i}`, { table: "t", column: "c", id: String(i) })));
    const headers = cts.map((c) => parseHeader(fromText(c)));
    expect(new Set(headers.map((x) => x.salt.toString("hex"))).size).toBe(1);
    expect(new Set(headers.map((x) => x.nonce.toString("hex"))).size).toBe(n);
    for (const [i, c] of cts.entries()) expect(await reader.decryptString(c, { table: "t", column: "c", id: String(i) })).toBe(`value ${i}`);
    await expect(reader.decrypt(cts[0]!, { table: "t", column: "c", id: "1" })).rejects.toBeInstanceOf(DecryptionFailed);
  });

  it("subject keys reuse their salt the same way and shredding still makes them unreadable", async () => {
    const a = await h.keyring.encryptFor("user-1", "a", { id: "1" });
    const b = await h.keyring.encryptFor("user-1", "b", { id: "2" });
    expect(parseHeader(fromText(a)).salt.equals(parseHeader(fromText(b)).salt)).toBe(true);
    expect(await h.keyring.decryptStringFor("user-1", b, { id: "2" })).toBe("b");
    await h.keyring.shred("user-1");
    await expect(h.keyring.decryptFor("user-1", a, { id: "1" })).rejects.toBeInstanceOf(DecryptionFailed);
  });
});
