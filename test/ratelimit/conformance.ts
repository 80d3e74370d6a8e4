/**
 * The RateLimitStore conformance suite: the token-bucket semantics written
 * down in src/ratelimit/types.ts, checked against every implementation (the
 * memory store on a manual clock, Redis on its own clock with real sleeps).
 * Expected values come from the policy arithmetic (burst, window / limit),
 * never from an earlier answer of the store under test.
 */
import { describe, expect, it } from "vitest";
import { definePolicy, type RateLimitStore } from "../../src/ratelimit/index.js";

export interface RateLimitHarness {
  store: RateLimitStore;
  /** Moves time forward for this store (manual clock, or a real sleep for Redis). */
  advance(ms: number): Promise<void>;
  /** How much real time may pass unnoticed between two calls (0 on a manual clock). */
  slackMs: number;
}

export function rateLimitConformance(name: string, make: () => Promise<RateLimitHarness & { done(): Promise<void> }>): void {
  describe(`RateLimitStore conformance: ${name}`, () => {
    const use = async (fn: (h: RateLimitHarness) => Promise<void>) => {
      const h = await make();
      try {
        await fn(h);
      } finally {
        await h.done();
      }
    };

    it("a fresh bucket admits its burst, counting down, then refuses with retry and reset times", () =>
      use(async ({ store, slackMs }) => {
        // 5 per minute: one token every 12 s, so nothing refills during the test.
        const policy = definePolicy({ name: "burst", limit: 5, windowMs: 60_000 });
        const remaining: number[] = [];
        for (let i = 0; i < 5; i++) {
          const d = await store.consume("client", policy);
          expect(d.allowed).toBe(true);
          expect(d.retryAfterMs).toBe(0);
          remaining.push(d.remaining);
        }
        expect(remaining).toEqual([4, 3, 2, 1, 0]);
        const refused = await store.consume("client", policy);
        expect(refused.allowed).toBe(false);
        expect(refused.remaining).toBe(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(12_000);
        expect(refused.retryAfterMs).toBeGreaterThanOrEqual(12_000 - slackMs);
        expect(refused.resetMs).toBeLessThanOrEqual(60_000);
        expect(refused.resetMs).toBeGreaterThanOrEqual(60_000 - slackMs);
      }));

    it("after one request the bucket is full again in one refill interval", () =>
      use(async ({ store, slackMs }) => {
        const policy = definePolicy({ name: "reset", limit: 10, windowMs: 60_000 });
        const d = await store.consume("client", policy);
        expect(d).toMatchObject({ allowed: true, remaining: 9, retryAfterMs: 0 });
        expect(d.resetMs).toBeLessThanOrEqual(6_000);
        expect(d.resetMs).toBeGreaterThanOrEqual(6_000 - slackMs);
      }));

    it("refills at the policy's rate and never beyond the burst", () =>
      use(async ({ store, advance }) => {
        // 5 per second: one token every 200 ms.
        const policy = definePolicy({ name: "refill", limit: 5, windowMs: 1_000 });
        for (let i = 0; i < 5; i++) expect((await store.consume("client", policy)).allowed).toBe(true);
        expect((await store.consume("client", policy)).allowed).toBe(false);
        await advance(300); // 1.5 tokens
        expect((await store.consume("client", policy)).allowed).toBe(true);
        expect((await store.consume("client", policy)).allowed).toBe(false);
        await advance(2_000); // far more than needed to refill: capped at the burst
        const admitted = [];
        for (let i = 0; i < 6; i++) admitted.push((await store.consume("client", policy)).allowed);
        expect(admitted).toEqual([true, true, true, true, true, false]);
      }));

    it("retryAfterMs is when the next request is admitted, not before", () =>
      use(async ({ store, advance }) => {
        // 2 per 2 s: one token every second.
        const policy = definePolicy({ name: "retry", limit: 2, windowMs: 2_000 });
        await store.consume("client", policy);
        await store.consume("client", policy);
        const refused = await store.consume("client", policy);
        expect(refused.allowed).toBe(false);
        await advance(refused.retryAfterMs - 100);
        expect((await store.consume("client", policy)).allowed).toBe(false);
        await advance(150);
        expect((await store.consume("client", policy)).allowed).toBe(true);
      }));

    it("a cost takes several tokens; a refused cost leaves the bucket as it was", () =>
      use(async ({ store, slackMs }) => {
        const policy = definePolicy({ name: "cost", limit: 10, windowMs: 3_600_000 });
        expect(await store.consume("client", policy, 4)).toMatchObject({ allowed: true, remaining: 6 });
        const refused = await store.consume("client", policy, 7);
        expect(refused).toMatchObject({ allowed: false, remaining: 6 });
        // One token short: one interval (6 min) until 7 fit.
        expect(refused.retryAfterMs).toBeLessThanOrEqual(360_000);
        expect(refused.retryAfterMs).toBeGreaterThanOrEqual(360_000 - slackMs);
        expect(await store.consume("client", policy, 6)).toMatchObject({ allowed: true, remaining: 0 });
      }));

    it("refused requests do not drain the bucket: a client that keeps trying is admitted once a token refills", () =>
      use(async ({ store, advance }) => {
        const policy = definePolicy({ name: "hammer", limit: 5, windowMs: 1_000 });
        for (let i = 0; i < 5; i++) await store.consume("client", policy);
        for (let i = 0; i < 20; i++) expect((await store.consume("client", policy)).allowed).toBe(false);
        await advance(250);
        expect((await store.consume("client", policy)).allowed).toBe(true);
      }));

    it("200 concurrent requests on a bucket of 50 admit exactly 50, each remaining count once", () =>
      use(async ({ store }) => {
        const policy = definePolicy({ name: "race", limit: 50, windowMs: 3_600_000 });
        const decisions = await Promise.all(Array.from({ length: 200 }, () => store.consume("client", policy)));
        const admitted = decisions.filter((d) => d.allowed);
        expect(admitted).toHaveLength(50);
        expect(admitted.map((d) => d.remaining).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
        expect(decisions.filter((d) => !d.allowed).every((d) => d.remaining === 0 && d.retryAfterMs > 0)).toBe(true);
      }));

    it("separate keys, and the same key under separate policies, have separate buckets", () =>
      use(async ({ store }) => {
        const a = definePolicy({ name: "pa", limit: 2, windowMs: 60_000 });
        const b = definePolicy({ name: "pb", limit: 2, windowMs: 60_000 });
        await store.consume("k1", a);
        await store.consume("k1", a);
        expect((await store.consume("k1", a)).allowed).toBe(false);
        expect(await store.consume("k2", a)).toMatchObject({ allowed: true, remaining: 1 });
        expect(await store.consume("k1", b)).toMatchObject({ allowed: true, remaining: 1 });
      }));

    it("rejects a cost that is not a whole number of tokens within the burst", () =>
      use(async ({ store }) => {
        const policy = definePolicy({ name: "bad", limit: 3, windowMs: 60_000 });
        for (const cost of [0, -1, 1.5, 4, Number.NaN]) await expect(store.consume("client", policy, cost)).rejects.toThrow(RangeError);
        expect(await store.consume("client", policy)).toMatchObject({ allowed: true, remaining: 2 });
      }));

    it("a burst different from the limit caps the bucket, the limit sets the refill", () =>
      use(async ({ store, advance }) => {
        // Refill 10 per second (100 ms each), but at most 3 at once.
        const policy = definePolicy({ name: "burst3", limit: 10, windowMs: 1_000, burst: 3 });
        const first = [];
        for (let i = 0; i < 4; i++) first.push((await store.consume("client", policy)).allowed);
        expect(first).toEqual([true, true, true, false]);
        await advance(1_000);
        const again = [];
        for (let i = 0; i < 4; i++) again.push((await store.consume("client", policy)).allowed);
        expect(again).toEqual([true, true, true, false]);
      }));

    it("ping resolves while the store is up", () =>
      use(async ({ store }) => {
        await expect(store.ping()).resolves.toBeUndefined();
      }));
  });
}
