/**
 * TOTP one-time use and MFA attempt caps over a KvStore, run against every kv
 * backend (memory here, Redis in the *.services.test.ts twin). Codes come from
 * oathtool, not from the code under test.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createAttemptCounter, createKvUsedStepStore, generateTotpSecret, verifyTotpOnce, type UsedStepStore } from "../../../src/auth/totp/index.js";
import type { KvStore } from "../../../src/kv/index.js";

export interface ReplayHarness {
  kv: KvStore;
  /** A second store on the same backend: another server instance. */
  peer(): Promise<KvStore>;
  done(): Promise<void>;
}

// A fixed instant in the middle of a step, so ±1 step stays in the window.
const T = 1_700_000_015;
const STEP = Math.floor(T / 30);

export function oathtool(secret: string, unixSeconds: number): string {
  const r = spawnSync("oathtool", ["--totp", "-b", secret, "-N", `@${unixSeconds}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`oathtool failed: ${r.stderr}`);
  return r.stdout.trim();
}

export function replaySuite(name: string, make: () => Promise<ReplayHarness>): void {
  const use = (fn: (h: ReplayHarness) => Promise<void>) => async () => {
    const h = await make();
    try {
      await fn(h);
    } finally {
      await h.done();
    }
  };
  const verify = (usedSteps: UsedStepStore, userId: string, secret: string, code: string, nowSeconds = T) => verifyTotpOnce({ secret, code, userId, usedSteps, nowMs: nowSeconds * 1000 });

  describe(`TOTP replay protection (${name})`, () => {
    it(
      "a code verifies once; replaying it fails, later in its window and on another instance too",
      use(async ({ kv, peer }) => {
        const secret = generateTotpSecret();
        const code = oathtool(secret, T);
        const store = createKvUsedStepStore(kv);
        expect(await verify(store, "u1", secret, code)).toEqual({ ok: true, step: STEP });
        expect(await verify(store, "u1", secret, code)).toEqual({ ok: false });
        expect(await verify(store, "u1", secret, code, T + 30)).toEqual({ ok: false });
        // Another MFA challenge for the same user, served by another instance.
        expect(await verify(createKvUsedStepStore(await peer()), "u1", secret, code)).toEqual({ ok: false });
      }),
    );

    it(
      "50 concurrent verifications of one code: exactly one succeeds",
      use(async ({ kv, peer }) => {
        const secret = generateTotpSecret();
        const code = oathtool(secret, T);
        const stores = [createKvUsedStepStore(kv), createKvUsedStepStore(await peer())];
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => verify(stores[i % 2] as UsedStepStore, "u2", secret, code)));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
      }),
    );

    it(
      "once a later step is used, earlier codes still inside the drift window are refused",
      use(async ({ kv }) => {
        const secret = generateTotpSecret();
        const store = createKvUsedStepStore(kv);
        const next = oathtool(secret, T + 30);
        const current = oathtool(secret, T);
        const previous = oathtool(secret, T - 30);
        expect(await verify(store, "u3", secret, next)).toEqual({ ok: true, step: STEP + 1 });
        expect(await verify(store, "u3", secret, current)).toEqual({ ok: false });
        expect(await verify(store, "u3", secret, previous)).toEqual({ ok: false });
        // Moving forward is fine: the next-but-one step at the next period.
        expect(await verify(store, "u3", secret, oathtool(secret, T + 60), T + 30)).toEqual({ ok: true, step: STEP + 2 });
      }),
    );

    it(
      "concurrent codes from three adjacent steps: each step is granted at most once",
      use(async ({ kv }) => {
        const secret = generateTotpSecret();
        const store = createKvUsedStepStore(kv);
        const codes = [oathtool(secret, T - 30), oathtool(secret, T), oathtool(secret, T + 30)];
        const results = await Promise.all(Array.from({ length: 60 }, (_, i) => verify(store, "u4", secret, codes[i % 3] as string)));
        const granted = results.flatMap((r) => (r.ok ? [r.step] : []));
        expect(granted.length).toBeGreaterThanOrEqual(1);
        expect(new Set(granted).size).toBe(granted.length);
        // The latest step always wins its race: nothing later can block it.
        expect(granted).toContain(STEP + 1);
      }),
    );

    it(
      "users are independent: the same step is usable once per user",
      use(async ({ kv }) => {
        const secret = generateTotpSecret();
        const code = oathtool(secret, T);
        const store = createKvUsedStepStore(kv);
        expect((await verify(store, "alice", secret, code)).ok).toBe(true);
        expect((await verify(store, "bob", secret, code)).ok).toBe(true);
        // "a:1" + step and "a" + ":1" + step do not collide.
        expect(await store.markUsed("a:1", 5)).toBe(true);
        expect(await store.markUsed("a", 15)).toBe(true);
      }),
    );

    it(
      "a wrong code claims nothing: the right code still works afterwards",
      use(async ({ kv }) => {
        const secret = generateTotpSecret();
        const code = oathtool(secret, T);
        const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
        const store = createKvUsedStepStore(kv);
        expect((await verify(store, "u5", secret, wrong)).ok).toBe(false);
        expect((await verify(store, "u5", secret, code)).ok).toBe(true);
      }),
    );

    it(
      "claims expire after the drift window (no unbounded growth)",
      use(async ({ kv }) => {
        const store = createKvUsedStepStore(kv);
        expect(await store.markUsed("u6", 1000)).toBe(true);
        const ttl = await kv.ttl("totp:used:u6:1000");
        expect(ttl).toBeGreaterThan(60_000);
        expect(ttl).toBeLessThanOrEqual(120_000);
      }),
    );
  });

  describe(`MFA attempt cap per challenge (${name})`, () => {
    it(
      "of 20 parallel attempts on one challenge exactly 5 are allowed",
      use(async ({ kv, peer }) => {
        const counters = [createAttemptCounter(kv, { maxAttempts: 5 }), createAttemptCounter(await peer(), { maxAttempts: 5 })];
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (counters[i % 2] as ReturnType<typeof createAttemptCounter>).attempt("challenge-1")));
        expect(results.filter((r) => r.allowed)).toHaveLength(5);
        expect(results.map((r) => r.attempts).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(await counters[0]?.attempt("challenge-2")).toEqual({ allowed: true, attempts: 1, remaining: 4 });
        await counters[0]?.reset("challenge-1");
        expect((await counters[0]?.attempt("challenge-1"))?.allowed).toBe(true);
      }),
    );
  });
}
