/**
 * Rate-limit decisions per second in Redis from one process, 50 in flight:
 * Rampart's token bucket (one EVALSHA per decision) against
 * rate-limiter-flexible's `RateLimiterRedis.consume` (its fixed-window Lua
 * script), measured in the same run on the same Redis and reported as a
 * ratio (goal >= 0.9). Rounds alternate so drift hits both, and the ratio is
 * the median of the per-round ratios, so one disturbed round cannot decide it.
 *
 * BENCH_REDIS_URL (default redis://127.0.0.1:6379); keys live under a unique
 * prefix and are deleted afterwards.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";
import { definePolicy, RedisRateLimitStore } from "../../src/ratelimit/index.js";

const IN_FLIGHT = 50;
const KEYS = 1_000;
const ROUND_MS = 3_000;
const ROUNDS = 5;

type Decide = (key: string) => Promise<unknown>;

/** Decisions per second with IN_FLIGHT concurrent callers for `ms`. */
async function measure(decide: Decide, ms: number): Promise<number> {
  let done = 0;
  let next = 0;
  const end = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < end) {
      await decide(`client-${next++ % KEYS}`);
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return (done * 1000) / (performance.now() - started);
}

async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}

export async function run(): Promise<string> {
  const url = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
  const prefix = `bench:rl:${randomBytes(6).toString("hex")}:`;
  const ours = new Redis(url, { keyPrefix: `${prefix}rampart:` });
  const theirs = new Redis(url);
  const admin = new Redis(url);
  try {
    // Budgets large enough that every decision admits: the benchmark measures
    // the decision, not rate-limiter-flexible's exception path for refusals.
    const store = new RedisRateLimitStore({ redis: ours });
    const policy = definePolicy({ name: "bench", limit: 1_000_000_000, windowMs: 60_000 });
    const rlf = new RateLimiterRedis({ storeClient: theirs, keyPrefix: `${prefix}rlf`, points: 1_000_000_000, duration: 60 });
    const rampart: Decide = (key) => store.consume(key, policy);
    const flexible: Decide = (key) => rlf.consume(key);

    await measure(rampart, 1_000);
    await measure(flexible, 1_000);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      b.push(await measure(flexible, ROUND_MS));
      a.push(await measure(rampart, ROUND_MS));
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const ratios = a.map((x, i) => x / b[i]!).sort((x, y) => x - y);
    const ratio = ratios[ratios.length >> 1]!;
    return [
      "### Rate limiting: token-bucket decisions in Redis",
      "",
      `One process, ${IN_FLIGHT} decisions in flight over ${KEYS} keys, ${ROUNDS} alternating rounds of ${ROUND_MS / 1000} s after a 1 s warm-up each (rates: mean; ratio: median of the per-round ratios); every decision admits. Baseline: rate-limiter-flexible \`RateLimiterRedis.consume\` on its own connection to the same Redis. Goal: ratio >= 0.9.`,
      "",
      "| store | decisions/s | ratio |",
      "|---|---|---|",
      `| rate-limiter-flexible RateLimiterRedis (fixed window) | ${Math.round(mean(b))} | 1.00 |`,
      `| Rampart RedisRateLimitStore (token bucket, one EVALSHA) | ${Math.round(mean(a))} | **${ratio.toFixed(2)}** |`,
      "",
    ].join("\n");
  } finally {
    await dropPrefix(admin, prefix);
    ours.disconnect();
    theirs.disconnect();
    admin.disconnect();
  }
}
