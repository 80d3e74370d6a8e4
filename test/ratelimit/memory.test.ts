import { describe, expect, it } from "vitest";
import { definePolicy, MemoryRateLimitStore } from "../../src/ratelimit/index.js";
import { ManualClock } from "../../src/runtime/index.js";
import { rateLimitConformance } from "./conformance.js";

rateLimitConformance("memory", async () => {
  const clock = new ManualClock();
  const store = new MemoryRateLimitStore({ clock });
  return { store, advance: async (ms) => clock.advance(ms), slackMs: 0, done: () => store.close() };
});

describe("memory store bound", () => {
  // One token per hour: a drained bucket stays live for the whole test.
  const slow = definePolicy({ name: "slow", limit: 1, windowMs: 3_600_000 });
  // One token per 100 ms: full again shortly after use.
  const fast = definePolicy({ name: "fast", limit: 10, windowMs: 1_000 });

  it("evicts full buckets before live ones, even when the full one was used more recently", async () => {
    const clock = new ManualClock();
    const store = new MemoryRateLimitStore({ clock, maxKeys: 3 });
    try {
      await store.consume("a", slow);
      await store.consume("b", fast);
      await store.consume("c", slow);
      clock.advance(200); // b has refilled completely; a and c are still drained
      await store.consume("d", slow);
      expect(store.stats()).toMatchObject({ keys: 3, expired: 1, evictedLive: 0 });
      // The live buckets kept their state: a and c are still refused.
      expect((await store.consume("a", slow)).allowed).toBe(false);
      expect((await store.consume("c", slow)).allowed).toBe(false);
    } finally {
      await store.close();
    }
  });

  it("evicts the least recently used live bucket only when every bucket is live, and counts it", async () => {
    const clock = new ManualClock();
    const store = new MemoryRateLimitStore({ clock, maxKeys: 3 });
    try {
      await store.consume("a", slow);
      await store.consume("b", slow);
      await store.consume("c", slow);
      expect((await store.consume("a", slow)).allowed).toBe(false); // touching a makes b the least recently used
      await store.consume("d", slow);
      expect(store.stats()).toMatchObject({ keys: 3, expired: 0, evictedLive: 1 });
      expect((await store.consume("a", slow)).allowed).toBe(false);
      expect((await store.consume("c", slow)).allowed).toBe(false);
      expect((await store.consume("d", slow)).allowed).toBe(false);
      // b was forgotten: it starts over with a full bucket (the documented trade-off).
      expect((await store.consume("b", slow)).allowed).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("a flood of new keys never resets a live bucket while full ones can make room", async () => {
    const clock = new ManualClock();
    const store = new MemoryRateLimitStore({ clock, maxKeys: 100 });
    try {
      await store.consume("victim", slow);
      for (let i = 0; i < 1_000; i++) {
        await store.consume(`flood-${i}`, fast);
        clock.advance(150); // each flood bucket is full again before the next arrives
      }
      expect(store.stats().evictedLive).toBe(0);
      expect((await store.consume("victim", slow)).allowed).toBe(false);
    } finally {
      await store.close();
    }
  });

  it("the sweep forgets full buckets only", async () => {
    const clock = new ManualClock();
    const store = new MemoryRateLimitStore({ clock });
    try {
      await store.consume("x", fast);
      await store.consume("y", slow);
      clock.advance(150);
      store.sweep();
      expect(store.stats()).toMatchObject({ keys: 1, expired: 1 });
      expect((await store.consume("y", slow)).allowed).toBe(false);
    } finally {
      await store.close();
    }
  });

  it("rejects a bound that is not a positive integer, naming what it got", () => {
    expect(() => new MemoryRateLimitStore({ clock: new ManualClock(), maxKeys: 0 })).toThrow(/maxKeys.*instead got 0/);
  });
});
