import pino from "pino";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisKv } from "../../src/kv/index.js";
import { definePolicy, MemoryRateLimitStore, RedisRateLimitStore } from "../../src/ratelimit/index.js";
import { ManualClock } from "../../src/runtime/index.js";
import { connected, dropPrefix, freshPrefix } from "../helpers/redis.js";
import { serviceUrl } from "../helpers/services.js";
import { rateLimitConformance } from "./conformance.js";

const url = serviceUrl("TEST_REDIS_URL");

rateLimitConformance("redis", async () => {
  const prefix = freshPrefix();
  const redis = new Redis(url, { keyPrefix: prefix });
  const store = new RedisRateLimitStore({ redis });
  return {
    store,
    advance: (ms) => new Promise((r) => setTimeout(r, ms)),
    // Real time between a test's first call and its last: six round trips on a CI machine busy with
    // the rest of the suite (a run saw 58 ms). Still far from any wrong arithmetic (a token is 12 s).
    slackMs: 500,
    done: async () => {
      await store.close();
      redis.disconnect();
      await dropPrefix(url, prefix);
    },
  };
});

describe("redis store", () => {
  const prefix = freshPrefix();
  let kv: RedisKv;
  let admin: Redis;
  beforeAll(async () => {
    kv = await connected(new RedisKv({ url, prefix, log: pino({ level: "silent" }) }));
    admin = new Redis(url);
  });
  afterAll(async () => {
    await kv.close();
    admin.disconnect();
    await dropPrefix(url, prefix);
  });

  it("one decision is exactly one command on the wire", async () => {
    const store = RedisRateLimitStore.fromKv(kv);
    const policy = definePolicy({ name: "wire", limit: 1_000, windowMs: 60_000 });
    await store.consume("warm-up", policy); // may load the script (EVALSHA, then EVAL once)
    const sent: string[] = [];
    const original = kv.redis.sendCommand.bind(kv.redis);
    kv.redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name);
      return (original as (...a: unknown[]) => unknown)(command, ...rest);
    }) as typeof kv.redis.sendCommand;
    try {
      await Promise.all(Array.from({ length: 25 }, (_, i) => store.consume(`client-${i % 5}`, policy)));
    } finally {
      kv.redis.sendCommand = original;
    }
    expect(sent).toEqual(Array.from({ length: 25 }, () => "evalsha"));
  });

  it("keys live under REDIS_PREFIX + rl: and expire exactly when the bucket is full again", async () => {
    const store = RedisRateLimitStore.fromKv(kv);
    // One token every 2 s, burst 3.
    const policy = definePolicy({ name: "ttl", limit: 3, windowMs: 6_000 });
    await store.consume("ip:192.0.2.1", policy);
    const one = await admin.pttl(`${prefix}rl:ttl:ip:192.0.2.1`);
    expect(one).toBeGreaterThan(2_000 - 100);
    expect(one).toBeLessThanOrEqual(2_000);
    await store.consume("ip:192.0.2.1", policy);
    await store.consume("ip:192.0.2.1", policy);
    const drained = await admin.pttl(`${prefix}rl:ttl:ip:192.0.2.1`);
    expect(drained).toBeGreaterThan(6_000 - 100);
    expect(drained).toBeLessThanOrEqual(6_000);
  });

  it("two instances (two connections) share one bucket", async () => {
    const other = await connected(new RedisKv({ url, prefix, log: pino({ level: "silent" }) }));
    try {
      const a = RedisRateLimitStore.fromKv(kv);
      const b = RedisRateLimitStore.fromKv(other);
      const policy = definePolicy({ name: "shared", limit: 4, windowMs: 60_000 });
      const decisions = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).consume("client", policy)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(4);
      expect((await a.consume("client", policy)).allowed).toBe(false);
      expect((await b.consume("client", policy)).allowed).toBe(false);
    } finally {
      await other.close();
    }
  });

  it("the memory store and the Lua script give the same answers for the same sequence", async () => {
    // Differential check of the two implementations of one algorithm on a policy
    // whose interval is not a whole number of milliseconds (60 000 / 7).
    const memory = new MemoryRateLimitStore({ clock: new ManualClock() });
    const store = RedisRateLimitStore.fromKv(kv);
    const policy = definePolicy({ name: "odd", limit: 7, windowMs: 60_000, burst: 5 });
    try {
      for (const cost of [1, 2, 1, 3, 1, 1, 1]) {
        const m = await memory.consume("same", policy, cost);
        const r = await store.consume("same", policy, cost);
        expect({ allowed: r.allowed, remaining: r.remaining }).toEqual({ allowed: m.allowed, remaining: m.remaining });
        expect(Math.abs(r.resetMs - m.resetMs)).toBeLessThanOrEqual(50);
        expect(Math.abs(r.retryAfterMs - m.retryAfterMs)).toBeLessThanOrEqual(50);
      }
    } finally {
      await memory.close();
    }
  });
});
