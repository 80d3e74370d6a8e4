/**
 * Options of an upstream and their validation. Defaults suit a remote API
 * called on the request path: a short timeout, two retries for idempotent
 * calls, a breaker that opens after five consecutive failures for 10 s, and
 * no bulkhead unless asked for.
 */
import type { Logger } from "../log/index.js";

export type BreakerOptions =
  /** Opens after `failures` failures in a row. */
  | { kind: "consecutive"; failures: number; halfOpenAfterMs: number }
  /**
   * Opens when more than `threshold` (0..1) of the calls in the last
   * `windowMs` failed, once at least `minimumRps` calls per second were seen.
   */
  | { kind: "sampling"; threshold: number; windowMs: number; minimumRps?: number; halfOpenAfterMs: number };

export interface UpstreamOptions {
  /** Longest one attempt may take (ms); the attempt's AbortSignal fires then. */
  timeoutMs: number;
  /** Extra attempts for idempotent calls (default 2); non-idempotent calls are never retried. */
  retries?: number;
  /** Exponential backoff between attempts with decorrelated jitter (defaults 100 ms, capped at 5 s). */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Circuit breaker (default consecutive, 5 failures, 10 s); false for none. */
  breaker?: BreakerOptions | false;
  /** Concurrency limit with a waiting queue (default none). */
  bulkhead?: { maxConcurrent: number; maxQueue?: number } | false;
  /**
   * Whether an error is the upstream failing (retried, counted by the breaker)
   * rather than an answer to pass on, like a 4xx. Default: every error.
   */
  isFailure?: (err: unknown) => boolean;
  /** Receives state changes (breaker opened, half-open, closed). */
  log?: Pick<Logger, "warn" | "info">;
}

export interface ResolvedUpstreamOptions {
  timeoutMs: number;
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  breaker: BreakerOptions | false;
  bulkhead: { maxConcurrent: number; maxQueue: number } | false;
  isFailure: (err: unknown) => boolean;
  log: Pick<Logger, "warn" | "info"> | undefined;
}

function int(name: string, field: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`upstream '${name}': ${field} must be an integer >= ${min}, instead got ${String(value)}`);
  return value;
}

/** Fills defaults and checks every number; errors name the upstream, the option and the value. */
export function resolveUpstreamOptions(name: string, o: UpstreamOptions): ResolvedUpstreamOptions {
  if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(name)) throw new RangeError(`upstream name must be lower-case letters, digits, '_', '.' or '-', instead got '${name}'`);
  const breaker = o.breaker === undefined ? ({ kind: "consecutive", failures: 5, halfOpenAfterMs: 10_000 } as const) : o.breaker;
  if (breaker) {
    int(name, "breaker.halfOpenAfterMs", breaker.halfOpenAfterMs, 1);
    if (breaker.kind === "consecutive") int(name, "breaker.failures", breaker.failures, 1);
    else {
      int(name, "breaker.windowMs", breaker.windowMs, 1);
      if (!(breaker.threshold > 0 && breaker.threshold <= 1)) throw new RangeError(`upstream '${name}': breaker.threshold must be in (0, 1], instead got ${String(breaker.threshold)}`);
    }
  }
  const bulkhead = o.bulkhead ? { maxConcurrent: int(name, "bulkhead.maxConcurrent", o.bulkhead.maxConcurrent, 1), maxQueue: int(name, "bulkhead.maxQueue", o.bulkhead.maxQueue ?? 0, 0) } : false;
  return {
    timeoutMs: int(name, "timeoutMs", o.timeoutMs, 1),
    retries: int(name, "retries", o.retries ?? 2, 0),
    initialDelayMs: int(name, "backoff.initialDelayMs", o.backoff?.initialDelayMs ?? 100, 1),
    maxDelayMs: int(name, "backoff.maxDelayMs", o.backoff?.maxDelayMs ?? 5_000, 1),
    breaker,
    bulkhead,
    isFailure: o.isFailure ?? (() => true),
    log: o.log,
  };
}
