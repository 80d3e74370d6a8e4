/**
 * Data-key caching bounds: the encrypt-side DEK is replaced when its age,
 * message count or byte count bound is reached; the decrypt-side LRU is
 * bounded in size and age; keys leaving memory are zeroized; and the KEK is
 * called once per cache miss (counted), never per field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataKeyPool } from "../../src/crypto/dek-pool.js";
import { KeyCache } from "../../src/crypto/key-cache.js";
import { MessageKeys } from "../../src/crypto/message-keys.js";
import { RandomPool } from "../../src/crypto/random.js";
import { ManualClock } from "../../src/runtime/index.js";
import { countedPeer, keyringHarness, type KeyringHarness } from "./helpers.js";

const ctx = { t: "x" };
let h: KeyringHarness;
beforeAll(async () => {
  h = await keyringHarness("embedded");
});
afterAll(async () => h.done());

/** The harness config with some crypto bounds changed (as env variables would). */
const withConfig = (c: Record<string, number>) => ({ config: { ...h.rt.runtime.config, ...c } });

describe("encrypt-side DEK reuse bounds", () => {
  it("max messages", async () => {
    const { keyring, kek } = await countedPeer(h, withConfig({ dekMaxMessages: 3 }));
    for (let i = 0; i < 7; i++) await keyring.encrypt("m", ctx);
    expect(kek.calls.generateDataKey).toBe(3);
  });

  it("max age", async () => {
    const clock = new ManualClock();
    const { keyring, kek } = await countedPeer(h, { clock, ...withConfig({ dekMaxAgeMs: 60_000 }) });
    await keyring.encrypt("a", ctx);
    clock.advance(59_999);
    await keyring.encrypt("b", ctx);
    expect(kek.calls.generateDataKey).toBe(1);
    clock.advance(1);
    await keyring.encrypt("c", ctx);
    expect(kek.calls.generateDataKey).toBe(2);
  });

  it("max bytes (a single larger message still gets a fresh DEK)", async () => {
    const { keyring, kek } = await countedPeer(h, withConfig({ dekMaxBytes: 100 }));
    await keyring.encrypt(Buffer.alloc(60), ctx);
    await keyring.encrypt(Buffer.alloc(40), ctx);
    expect(kek.calls.generateDataKey).toBe(1);
    await keyring.encrypt(Buffer.alloc(1), ctx);
    expect(kek.calls.generateDataKey).toBe(2);
    const big = await keyring.encrypt(Buffer.alloc(500), ctx);
    expect(kek.calls.generateDataKey).toBe(3);
    expect((await keyring.decrypt(big, ctx)).length).toBe(500);
  });

  it("concurrent encrypts on a cold keyring share one KEK call", async () => {
    const { keyring, kek } = await countedPeer(h);
    await Promise.all(Array.from({ length: 50 }, (_, i) => keyring.encrypt(`f${i}`, ctx)));
    expect(kek.calls.generateDataKey).toBe(1);
  });
});

describe("decrypt-side LRU", () => {
  it("is bounded by CRYPTO_DEK_CACHE_SIZE: an evicted DEK costs one unwrap again", async () => {
    const writer = await h.peer(withConfig({ dekMaxMessages: 1 }));
    const cts = [];
    for (let i = 0; i < 3; i++) cts.push(await writer.encrypt(`v${i}`, ctx));
    const { keyring, kek } = await countedPeer(h, withConfig({ dekCacheSize: 2 }));
    for (const c of cts) await keyring.decrypt(c, ctx);
    expect(kek.calls.unwrap).toBe(3);
    await keyring.decrypt(cts[2]!, ctx);
    await keyring.decrypt(cts[1]!, ctx);
    expect(kek.calls.unwrap).toBe(3);
    await keyring.decrypt(cts[0]!, ctx);
    expect(kek.calls.unwrap).toBe(4);
  });

  it("entries expire after CRYPTO_DEK_CACHE_MAX_AGE_MS", async () => {
    const ct = await h.keyring.encryptFor("s", "v", ctx);
    const clock = new ManualClock();
    const { keyring, kek } = await countedPeer(h, { clock, ...withConfig({ dekCacheMaxAgeMs: 10_000 }) });
    await keyring.decrypt(ct, ctx);
    clock.advance(9_999);
    await keyring.decrypt(ct, ctx);
    expect(kek.calls.unwrap).toBe(1);
    clock.advance(1);
    await keyring.decrypt(ct, ctx);
    expect(kek.calls.unwrap).toBe(2);
  });
});

describe("zeroization", () => {
  it("the LRU zeroizes on eviction, expiry, delete and clear", () => {
    const clock = new ManualClock();
    const disposed: string[] = [];
    const cache = new KeyCache<Buffer>(2, 1000, clock, (v, k) => {
      v.fill(0);
      disposed.push(k);
    });
    const bufs = [Buffer.alloc(8, 1), Buffer.alloc(8, 2), Buffer.alloc(8, 3), Buffer.alloc(8, 4)];
    cache.set("a", bufs[0]!);
    cache.set("b", bufs[1]!);
    cache.get("a");
    cache.set("c", bufs[2]!);
    expect(disposed).toEqual(["b"]);
    expect(bufs[1]!.every((x) => x === 0)).toBe(true);
    clock.advance(1000);
    expect(cache.get("a")).toBeUndefined();
    expect(bufs[0]!.every((x) => x === 0)).toBe(true);
    cache.set("d", bufs[3]!);
    cache.delete("d");
    cache.clear();
    expect(bufs.every((b) => b.every((x) => x === 0))).toBe(true);
    expect(cache.size).toBe(0);
  });

  it("the pooled DEK is zeroized when a bound retires it and on flush", () => {
    const clock = new ManualClock();
    const pool = new DataKeyPool({ maxAgeMs: 1000, maxMessages: 10, maxBytes: 1 << 20 }, clock);
    const prk = Buffer.alloc(64, 7);
    const keys = new MessageKeys(prk);
    pool.install({ ref: { provider: "local", keyId: "default", version: 1 }, keys, keySection: Buffer.alloc(0), createdAt: clock.now(), messages: 0, bytes: 0 });
    expect(pool.take(10)?.keys).toBe(keys);
    const sealing = keys.forSealing(new RandomPool());
    clock.advance(1000);
    expect(pool.take(10)).toBeUndefined();
    expect(prk.every((x) => x === 0)).toBe(true);
    expect(sealing.key.every((x) => x === 0) && sealing.commitment.every((x) => x === 0)).toBe(true);
    const prk2 = Buffer.alloc(64, 9);
    pool.install({ ref: { provider: "local", keyId: "default", version: 1 }, keys: new MessageKeys(prk2), keySection: Buffer.alloc(0), createdAt: clock.now(), messages: 0, bytes: 0 });
    pool.flush();
    expect(prk2.every((x) => x === 0)).toBe(true);
  });
});
