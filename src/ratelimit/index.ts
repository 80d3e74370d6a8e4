/**
 * Public API of rate limiting: policies, the store contract with its memory,
 * Redis and failover implementations, the limiter and the runtime wiring.
 * Framework-free: the Fastify plugin is `rampart/ratelimit/plugin`.
 */
export { definePolicy, defineAppPolicy, inlinePolicyName, policiesFromConfig, intervalUs, assertCost, DEFAULT_POLICY, BUILT_IN_POLICIES, INLINE_POLICY_PREFIX, type RateLimitPolicy, type PolicyInput } from "./policy.js";
export type { RateLimitDecision, RateLimitStore } from "./types.js";
export { gcra, type BucketStep } from "./token-bucket.js";
export { MemoryRateLimitStore, type MemoryRateLimitStoreOptions, type MemoryRateLimitStats } from "./memory-store.js";
export { RedisRateLimitStore, TOKEN_BUCKET_LUA, type RedisRateLimitStoreOptions } from "./redis-store.js";
export { FailoverRateLimitStore, type FailoverRateLimitStoreOptions, type FailoverStats, type OnStoreError } from "./failover-store.js";
export { RateLimiter, RateLimitedError, type RateLimiterOptions, type RateLimitResult, type PolicyCounts } from "./limiter.js";
export { rateLimitHeaders } from "./headers.js";
export { clientIpKey, requestKey } from "./client-key.js";
export { createRateLimiting, type AppRateLimitOptions, type RateLimiting, type RateLimitingDeps, type RateLimitStats } from "./setup.js";
