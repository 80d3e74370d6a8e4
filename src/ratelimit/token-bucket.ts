/**
 * The token bucket as GCRA (the Generic Cell Rate Algorithm, ITU-T I.371):
 * the whole bucket state is one number, the theoretical arrival time (TAT).
 * With an emission interval T (time to refill one token) and a capacity of B
 * tokens, the bucket holds B - (TAT - now) / T tokens, and it is full once
 * TAT <= now. A request of cost c is admitted when
 * TAT' = max(TAT, now) + c·T lies at most B·T ahead of now.
 *
 * Everything is integer microseconds, so the memory store (this function) and
 * the Redis script (redis-script.ts, the same steps in Lua) compute exactly
 * the same answers.
 */
import type { RateLimitDecision } from "./types.js";

export interface BucketStep {
  readonly decision: RateLimitDecision;
  /** The TAT to store when admitted; null when refused (the bucket is unchanged). */
  readonly tatUs: number | null;
}

/**
 * One decision. `storedTatUs` is the bucket's TAT (undefined for a bucket never
 * seen or forgotten once full), `nowUs` the current time, `intervalUs` the
 * emission interval, `burst` the capacity and `cost` the tokens asked for.
 */
export function gcra(storedTatUs: number | undefined, nowUs: number, intervalUs: number, burst: number, cost: number): BucketStep {
  const tat = storedTatUs === undefined || storedTatUs < nowUs ? nowUs : storedTatUs;
  const toleranceUs = burst * intervalUs;
  const next = tat + cost * intervalUs;
  if (next - nowUs > toleranceUs) {
    return {
      tatUs: null,
      decision: {
        allowed: false,
        remaining: Math.floor((toleranceUs - (tat - nowUs)) / intervalUs),
        resetMs: Math.ceil((tat - nowUs) / 1000),
        retryAfterMs: Math.ceil((next - toleranceUs - nowUs) / 1000),
      },
    };
  }
  return {
    tatUs: next,
    decision: {
      allowed: true,
      remaining: Math.floor((toleranceUs - (next - nowUs)) / intervalUs),
      resetMs: Math.ceil((next - nowUs) / 1000),
      retryAfterMs: 0,
    },
  };
}
