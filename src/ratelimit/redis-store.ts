/**
 * Redis rate-limit store for scale-out mode: every instance shares the
 * buckets, and one decision is exactly one round trip (EVALSHA of the script
 * below, through ioredis `defineCommand`, which falls back to EVAL once when
 * the server has not cached it).
 *
 * Time comes from the Redis server (`TIME` inside the script), not from the
 * calling instance: the instances' clocks may disagree, and one clock for
 * every decision on a bucket is what makes the arithmetic exact. Scripts that
 * call TIME before writing need effects replication, the default since Redis 5.
 *
 * A bucket's key expires exactly when the bucket has refilled completely, so
 * Redis memory holds only buckets that still carry information.
 */
import type { Redis } from "ioredis";
import type { RedisKv } from "../kv/redis.js";
import { assertCost, intervalUs, type RateLimitPolicy } from "./policy.js";
import type { RateLimitDecision, RateLimitStore } from "./types.js";

/**
 * The GCRA step of token-bucket.ts in Lua, in integer microseconds (exact in
 * Lua's doubles below 2^53: epoch microseconds are ~2^51).
 * KEYS[1] bucket; ARGV[1] emission interval (µs); ARGV[2] burst; ARGV[3] cost.
 * Returns {allowed 0|1, remaining, reset µs, retry-after µs}.
 */
export const TOKEN_BUCKET_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local nxt = tat + tonumber(ARGV[3]) * interval
if nxt - now > tolerance then
  return {0, math.floor((tolerance - (tat - now)) / interval), tat - now, nxt - tolerance - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000))
return {1, math.floor((tolerance - (nxt - now)) / interval), nxt - now, 0}`;

const COMMAND = "rampartTokenBucket";

type BucketCommand = (key: string, intervalUs: number, burst: number, cost: number) => Promise<[number, number, number, number]>;

export interface RedisRateLimitStoreOptions {
  /** An ioredis client; its own `keyPrefix` (if any) is applied first. */
  redis: Redis;
  /** Namespace of bucket keys under the client's prefix (default `rl:`). */
  prefix?: string;
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = "redis" as const;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly command: BucketCommand;

  constructor(options: RedisRateLimitStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix ?? "rl:";
    // defineCommand is idempotent per client, so several stores may share one.
    this.redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
    const fn = (this.redis as unknown as Record<string, BucketCommand>)[COMMAND]!;
    this.command = fn.bind(this.redis);
  }

  /**
   * A store on the runtime's Redis connection: keys land under REDIS_PREFIX
   * (the kv client's prefix) + `rl:`, and commands fail fast while Redis is
   * unreachable (no offline queue), which the failover store relies on.
   */
  static fromKv(kv: RedisKv, prefix?: string): RedisRateLimitStore {
    return new RedisRateLimitStore({ redis: kv.redis, ...(prefix !== undefined ? { prefix } : {}) });
  }

  async consume(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    assertCost(policy, cost);
    const [allowed, remaining, resetUs, retryUs] = await this.command(`${this.prefix}${policy.name}:${key}`, intervalUs(policy), policy.burst, cost);
    return {
      allowed: allowed === 1,
      remaining,
      resetMs: Math.ceil(resetUs / 1000),
      retryAfterMs: Math.ceil(retryUs / 1000),
    };
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** The client belongs to the caller (or the runtime's kv): nothing to release here. */
  async close(): Promise<void> {}
}
