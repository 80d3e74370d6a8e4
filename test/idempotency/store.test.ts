/**
 * The idempotency store on the runtime's kv store, in both modes: `abandon`
 * frees only an in-flight key, and `begin` copes with a record that expires
 * between its failed claim and its read (claims again, and answers in-flight
 * rather than looping when that keeps happening).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyStore, requestFingerprint } from "../../src/idempotency/index.js";
import type { KvStore } from "../../src/kv/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";

const fp = (n: number) => requestFingerprint("POST", "/v1/orders", "user:1", { n });
const done = { status: 201, headers: { "content-type": "application/json" }, body: '{"ok":true}' };

describe.each(testModes())("idempotency store (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t?.close());

  const storeOn = (kv: KvStore) => new IdempotencyStore({ kv, crypto: t.runtime.crypto, ttlMs: 60_000, inFlightTtlMs: 60_000 });

  /**
   * The runtime's kv store where, around calls on one key, another request's
   * short marker appears just before a claim (`racesLeft` times) and has
   * expired by the following read.
   */
  function racingKv(kvKey: string, racesLeft: number): KvStore {
    const kv = t.runtime.kv;
    let planted = false;
    return Object.assign(Object.create(kv) as KvStore, {
      set: async (key: string, value: string, options?: Parameters<KvStore["set"]>[2]) => {
        if (key === kvKey && racesLeft > 0) {
          racesLeft--;
          planted = await kv.set(key, JSON.stringify({ s: "pending", f: "other" }), { ttlMs: 60_000 });
        }
        return kv.set(key, value, options);
      },
      get: async (key: string) => {
        if (key === kvKey && planted) {
          planted = false;
          await kv.del(key);
        }
        return kv.get(key);
      },
      del: (key: string) => kv.del(key),
    });
  }

  it("abandon frees an in-flight key, so the retry starts", async () => {
    const store = storeOn(t.runtime.kv);
    expect(await store.begin("user:1", "abandon-1", fp(1))).toEqual({ kind: "started" });
    expect(await store.begin("user:1", "abandon-1", fp(1))).toEqual({ kind: "in-flight" });
    await store.abandon("user:1", "abandon-1");
    expect(await t.runtime.kv.get(store.kvKey("user:1", "abandon-1"))).toBeNull();
    expect(await store.begin("user:1", "abandon-1", fp(2))).toEqual({ kind: "started" });
  });

  it("abandon leaves a completed key replaying, and is a no-op on an unknown key", async () => {
    const store = storeOn(t.runtime.kv);
    expect(await store.begin("user:1", "abandon-2", fp(1))).toEqual({ kind: "started" });
    await store.complete("user:1", "abandon-2", fp(1), done);
    await store.abandon("user:1", "abandon-2");
    expect(await store.begin("user:1", "abandon-2", fp(1))).toEqual({ kind: "replay", response: done });
    await store.abandon("user:1", "never-used");
    expect(await t.runtime.kv.get(store.kvKey("user:1", "never-used"))).toBeNull();
  });

  it("claims again when the record it collided with expired before it could be read", async () => {
    const kvKey = storeOn(t.runtime.kv).kvKey("user:1", "race-1");
    const store = storeOn(racingKv(kvKey, 1));
    expect(await store.begin("user:1", "race-1", fp(1))).toEqual({ kind: "started" });
    const marker = JSON.parse((await t.runtime.kv.get(kvKey))!) as { s: string; f: string };
    expect(marker).toEqual({ s: "pending", f: fp(1) });
  });

  it("answers in-flight, without looping, when the key is claimed and expires again at every turn", async () => {
    const kvKey = storeOn(t.runtime.kv).kvKey("user:1", "race-2");
    const store = storeOn(racingKv(kvKey, 2));
    expect(await store.begin("user:1", "race-2", fp(1))).toEqual({ kind: "in-flight" });
    // Nothing of this request is left behind: a retry claims the key.
    expect(await storeOn(t.runtime.kv).begin("user:1", "race-2", fp(1))).toEqual({ kind: "started" });
  });
});
