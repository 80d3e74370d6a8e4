/**
 * Builds rate limiting for a runtime from the configuration: the Redis store
 * behind a failover to the in-process limiter when the kv store is Redis,
 * the in-process limiter alone in embedded mode; the built-in policies; the
 * readiness probe and the counters for metrics.
 */
import type { Config } from "../config/index.js";
import type { HealthCheck } from "../health/checks.js";
import type { KvStore } from "../kv/types.js";
import { RedisKv } from "../kv/redis.js";
import type { Logger } from "../log/index.js";
import type { Clock } from "../runtime/clock.js";
import { FailoverRateLimitStore, type FailoverStats } from "./failover-store.js";
import { RateLimiter, type PolicyCounts } from "./limiter.js";
import { MemoryRateLimitStore, type MemoryRateLimitStats } from "./memory-store.js";
import { defineAppPolicy, policiesFromConfig, type PolicyInput, type RateLimitPolicy } from "./policy.js";
import { RedisRateLimitStore } from "./redis-store.js";
import type { RateLimitStore } from "./types.js";

type RateLimitConfig = Pick<
  Config,
  | "rateLimitEnabled"
  | "rateLimitRequestsPerMinute"
  | "rateLimitLoginPerMinute"
  | "rateLimitRegisterPerMinute"
  | "rateLimitPasswordForgotPerMinute"
  | "rateLimitOnStoreError"
  | "rateLimitMemoryMaxKeys"
>;

export interface RateLimitingDeps {
  config: RateLimitConfig;
  kv: KvStore;
  clock: Clock;
  log: Logger;
}

export interface RateLimitStats {
  enabled: boolean;
  /** `memory` (embedded) or `failover` (Redis with the in-process fallback). */
  store: RateLimitStore["kind"];
  policies: Record<string, PolicyCounts>;
  /** The in-process limiter (the store in embedded mode, the fallback otherwise). */
  memory: MemoryRateLimitStats;
  /** Present with Redis: degraded state and store-error counters. */
  failover: FailoverStats | null;
}

export interface RateLimiting {
  /** RATE_LIMIT_ENABLED; when false the plugin registers nothing. */
  readonly enabled: boolean;
  readonly limiter: RateLimiter;
  /** Readiness probe `ratelimit` (warn while Redis is unreachable). */
  readonly healthCheck: HealthCheck;
  stats(): RateLimitStats;
  close(): Promise<void>;
}

/** The host app's rate-limit settings (the `rateLimit` option of the rampart plugin). */
export interface AppRateLimitOptions {
  /** Named policies routes refer to with `config: { rateLimit: { policy: "<name>" } }`. */
  policies?: readonly (PolicyInput | RateLimitPolicy)[];
}

/**
 * Rate limiting for a runtime. `policies` adds the host app's named policies
 * to the built-in `default`, `login`, `register` and `forgot`; a name that
 * clashes with a built-in one, or is given twice, is refused here, at start.
 */
export function createRateLimiting(deps: RateLimitingDeps, policies: AppRateLimitOptions["policies"] = []): RateLimiting {
  const { config, kv, clock, log } = deps;
  // Validated before any store (and its timers) exists.
  const all = [...policiesFromConfig(config), ...policies.map((p) => defineAppPolicy(p))];
  const seen = new Set<string>();
  for (const p of all) {
    if (seen.has(p.name)) throw new RangeError(`rate-limit policy '${p.name}' is defined twice`);
    seen.add(p.name);
  }
  const memory = new MemoryRateLimitStore({ clock, maxKeys: config.rateLimitMemoryMaxKeys });
  let failover: FailoverRateLimitStore | null = null;
  if (kv instanceof RedisKv) {
    failover = new FailoverRateLimitStore({ primary: RedisRateLimitStore.fromKv(kv), fallback: memory, onStoreError: config.rateLimitOnStoreError, clock, log });
  }
  const store: RateLimitStore = failover ?? memory;
  const limiter = new RateLimiter({ store, policies: all });
  const healthCheck: HealthCheck = failover ? failover.healthCheck() : { name: "ratelimit", probe: async () => ({ status: "pass" }) };
  return {
    enabled: config.rateLimitEnabled,
    limiter,
    healthCheck,
    stats: () => ({ enabled: config.rateLimitEnabled, store: store.kind, policies: limiter.stats(), memory: memory.stats(), failover: failover?.stats() ?? null }),
    close: () => store.close(),
  };
}
