/**
 * The contract of a rate-limit store: one atomic token-bucket decision per
 * call. The memory and Redis stores pass one conformance suite
 * (test/ratelimit/conformance.ts); the plugin relies on these semantics.
 */
import type { RateLimitPolicy } from "./policy.js";

/** The outcome of one `consume`. Times are whole milliseconds, rounded up. */
export interface RateLimitDecision {
  /** Whether the call was admitted (and its tokens taken). */
  readonly allowed: boolean;
  /** Whole tokens left in the bucket after this call. */
  readonly remaining: number;
  /** Until the bucket is full again (0 = full). */
  readonly resetMs: number;
  /** Until a call of the same cost would be admitted; 0 when admitted. */
  readonly retryAfterMs: number;
}

export interface RateLimitStore {
  /** Which implementation answers. */
  readonly kind: "memory" | "redis" | "failover";

  /**
   * Takes `cost` tokens (default 1) from the bucket of `key` under `policy`,
   * or none when fewer are left: one atomic decision. Of N concurrent calls on
   * a bucket holding k tokens, exactly min(N, k) are admitted (for cost 1,
   * within a span shorter than one refill interval). A refused call does not
   * drain the bucket, so a client that keeps hammering is admitted again as
   * soon as tokens refill. Buckets of different policies never share tokens,
   * even for the same key. Rejects with a RangeError when `cost` is not an
   * integer from 1 to the policy's burst; any other rejection is a store
   * failure (e.g. Redis unreachable).
   */
  consume(key: string, policy: RateLimitPolicy, cost?: number): Promise<RateLimitDecision>;

  /** The same decision without a promise, offered by stores that decide in process (the memory store). */
  consumeSync?(key: string, policy: RateLimitPolicy, cost?: number): RateLimitDecision;

  /** Round trip to the backing store; rejects while it is unreachable. */
  ping(): Promise<void>;

  /** Releases timers; a store built on a shared client leaves the client open. */
  close(): Promise<void>;
}
