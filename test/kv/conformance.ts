/**
 * The KvStore conformance suite: the atomic semantics written down in
 * src/kv/types.ts, checked against every implementation. A new backend passes
 * this suite or is not a KvStore.
 */
import { describe, expect, it } from "vitest";
import type { KvStore } from "../../src/kv/index.js";

export interface KvHarness {
  store: KvStore;
  /** Moves time forward by `ms` for this store (fake clock, or real sleep for Redis). */
  advance(ms: number): Promise<void>;
  /** A second store sharing the same backend (another instance), for pub/sub. */
  peer(): Promise<KvStore>;
}

export function kvConformance(name: string, make: () => Promise<KvHarness & { done(): Promise<void> }>): void {
  describe(`KvStore conformance: ${name}`, () => {
    const use = async (fn: (h: KvHarness) => Promise<void>) => {
      const h = await make();
      try {
        await fn(h);
      } finally {
        await h.done();
      }
    };

    it("get returns null for an absent key and the value after set", () =>
      use(async ({ store }) => {
        expect(await store.get("a")).toBeNull();
        expect(await store.set("a", "1")).toBe(true);
        expect(await store.get("a")).toBe("1");
        expect(await store.ttl("a")).toBe(-1);
      }));

    it("set with ttl expires the key", () =>
      use(async ({ store, advance }) => {
        await store.set("t", "x", { ttlMs: 150 });
        const ttl = await store.ttl("t");
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(150);
        await advance(300);
        expect(await store.get("t")).toBeNull();
        expect(await store.ttl("t")).toBeNull();
      }));

    it("set ifAbsent: exactly one of many concurrent callers wins", () =>
      use(async ({ store }) => {
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.set("nx", String(i), { ifAbsent: true, ttlMs: 10_000 })));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect(await store.get("nx")).toBe(String(winner));
      }));

    it("set ifAbsent succeeds again after the key expired", () =>
      use(async ({ store, advance }) => {
        expect(await store.set("nx2", "a", { ifAbsent: true, ttlMs: 100 })).toBe(true);
        expect(await store.set("nx2", "b", { ifAbsent: true, ttlMs: 100 })).toBe(false);
        await advance(250);
        expect(await store.set("nx2", "c", { ifAbsent: true, ttlMs: 100 })).toBe(true);
      }));

    it("rejects a non-positive ttl", () =>
      use(async ({ store }) => {
        await expect(store.set("bad", "x", { ttlMs: 0 })).rejects.toThrow(/ttlMs/);
        await expect(store.increment("bad", 1, -5)).rejects.toThrow(/ttlMs/);
      }));

    it("del reports whether the key existed", () =>
      use(async ({ store }) => {
        await store.set("d", "1");
        expect(await store.del("d")).toBe(true);
        expect(await store.del("d")).toBe(false);
        expect(await store.get("d")).toBeNull();
      }));

    it("increment: N concurrent increments return exactly 1..N", () =>
      use(async ({ store }) => {
        const values = await Promise.all(Array.from({ length: 100 }, () => store.increment("ctr", 1, 60_000)));
        expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      }));

    it("increment sets the ttl only when it creates the key (fixed window)", () =>
      use(async ({ store, advance }) => {
        expect(await store.increment("win", 1, 200)).toBe(1);
        await advance(120);
        expect(await store.increment("win", 5, 10_000)).toBe(6);
        const ttl = await store.ttl("win");
        expect(ttl).not.toBeNull();
        expect(ttl!).toBeLessThanOrEqual(200 - 100);
        await advance(150);
        expect(await store.get("win")).toBeNull();
        expect(await store.increment("win", 1, 200)).toBe(1);
      }));

    it("consume: exactly one concurrent caller receives the value", () =>
      use(async ({ store }) => {
        await store.set("once", "token-value", { ttlMs: 10_000 });
        const got = await Promise.all(Array.from({ length: 50 }, () => store.consume("once")));
        expect(got.filter((v) => v !== null)).toEqual(["token-value"]);
        expect(await store.get("once")).toBeNull();
        expect(await store.consume("once")).toBeNull();
      }));

    it("consume does not return an expired value", () =>
      use(async ({ store, advance }) => {
        await store.set("exp", "v", { ttlMs: 100 });
        await advance(250);
        expect(await store.consume("exp")).toBeNull();
      }));

    it("publish reaches subscribers on another instance; unsubscribe stops delivery", () =>
      use(async ({ store, peer }) => {
        const other = await peer();
        try {
          const received: string[] = [];
          let notify!: () => void;
          const arrived = new Promise<void>((r) => (notify = r));
          const unsubscribe = await other.subscribe("chan", (m) => {
            received.push(m);
            if (received.length === 2) notify();
          });
          await store.publish("chan", "one");
          await store.publish("chan", "two");
          await arrived;
          expect(received).toEqual(["one", "two"]);
          await unsubscribe();
          await store.publish("chan", "three");
          await new Promise((r) => setTimeout(r, 100));
          expect(received).toEqual(["one", "two"]);
        } finally {
          if (other !== store) await other.close();
        }
      }));

    it("ping resolves while the store is up", () =>
      use(async ({ store }) => {
        await expect(store.ping()).resolves.toBeUndefined();
      }));
  });
}
