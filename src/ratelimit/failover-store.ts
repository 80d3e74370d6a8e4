/**
 * Keeps rate limiting up while the shared store (Redis) is unreachable.
 *
 * `open` (the default) fails soft: decisions move to an in-process limiter,
 * so each instance limits on its own (N instances admit up to N times the
 * budget until Redis is back) rather than admitting everything or refusing
 * everything. `closed` refuses with 503 SERVICE_UNAVAILABLE instead, for
 * deployments where a limit must hold globally or not at all.
 *
 * While degraded, one request at a time probes the primary again after
 * `retryAfterMs`, and the readiness probe pings it, so the store recovers by
 * itself. Buckets are not carried across the switch: a client's count starts
 * over in the store that takes over (documented in docs/rate-limits.md).
 */
import { RampartError } from "../errors/index.js";
import type { CheckResult, HealthCheck } from "../health/checks.js";
import type { Logger } from "../log/index.js";
import type { Clock } from "../runtime/clock.js";
import { assertCost, type RateLimitPolicy } from "./policy.js";
import type { RateLimitDecision, RateLimitStore } from "./types.js";

export type OnStoreError = "open" | "closed";

export interface FailoverRateLimitStoreOptions {
  primary: RateLimitStore;
  /** The in-process limiter used while the primary is down (`open` mode). */
  fallback: RateLimitStore;
  onStoreError: OnStoreError;
  clock: Clock;
  log: Logger;
  /** How long after a failure the primary is tried again (ms, default 1000). */
  retryAfterMs?: number;
}

export interface FailoverStats {
  /** Whether decisions currently bypass the primary. */
  degraded: boolean;
  /** Epoch ms since when, or null. */
  degradedSince: number | null;
  /** Primary calls that failed. */
  storeErrors: number;
  /** Decisions the in-process limiter made because the primary was down. */
  fallbackDecisions: number;
  /** Requests refused with 503 because the primary was down (`closed` mode). */
  refused: number;
}

export class FailoverRateLimitStore implements RateLimitStore {
  readonly kind = "failover" as const;
  private readonly o: FailoverRateLimitStoreOptions;
  private readonly retryAfterMs: number;
  private degradedSince: number | null = null;
  private retryAt = 0;
  private probing = false;
  private storeErrors = 0;
  private fallbackDecisions = 0;
  private refused = 0;

  constructor(options: FailoverRateLimitStoreOptions) {
    this.o = options;
    this.retryAfterMs = options.retryAfterMs ?? 1_000;
  }

  async consume(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    // A bad cost is the caller's bug, not an outage: reject it before any store sees it.
    assertCost(policy, cost);
    const probe = this.degradedSince !== null;
    if (!probe || (!this.probing && this.o.clock.now() >= this.retryAt)) {
      if (probe) this.probing = true;
      try {
        const decision = await this.o.primary.consume(key, policy, cost);
        if (probe) this.recover();
        return decision;
      } catch (err) {
        this.fail(err);
      } finally {
        if (probe) this.probing = false;
      }
    }
    return this.degraded(key, policy, cost);
  }

  private async degraded(key: string, policy: RateLimitPolicy, cost: number): Promise<RateLimitDecision> {
    if (this.o.onStoreError === "closed") {
      this.refused++;
      throw new RampartError("SERVICE_UNAVAILABLE", { headers: { "retry-after": String(Math.max(1, Math.ceil(this.retryAfterMs / 1000))) } });
    }
    this.fallbackDecisions++;
    return this.o.fallback.consume(key, policy, cost);
  }

  private fail(err: unknown): void {
    this.storeErrors++;
    this.retryAt = this.o.clock.now() + this.retryAfterMs;
    if (this.degradedSince !== null) return;
    this.degradedSince = this.o.clock.now();
    const then = this.o.onStoreError === "open" ? "limiting in process" : "refusing requests with 503";
    this.o.log.warn({ err: { message: (err as Error)?.message }, onStoreError: this.o.onStoreError }, `rate limit store unreachable; ${then}`);
  }

  private recover(): void {
    if (this.degradedSince === null) return;
    const downMs = this.o.clock.now() - this.degradedSince;
    this.degradedSince = null;
    this.o.log.info({ downMs }, "rate limit store recovered");
  }

  /**
   * Readiness probe `ratelimit`: `warn` while degraded (the instance still
   * serves), pass otherwise. While degraded it pings the primary, so
   * readiness clears as soon as Redis answers even without traffic.
   */
  healthCheck(): HealthCheck {
    return {
      name: "ratelimit",
      probe: async (): Promise<CheckResult> => {
        if (this.degradedSince === null) return { status: "pass" };
        try {
          await this.o.primary.ping();
          this.recover();
          return { status: "pass" };
        } catch {
          const how = this.o.onStoreError === "open" ? "limiting in process" : "refusing requests";
          return { status: "warn", output: `rate limit store unreachable; ${how}` };
        }
      },
    };
  }

  stats(): FailoverStats {
    return {
      degraded: this.degradedSince !== null,
      degradedSince: this.degradedSince,
      storeErrors: this.storeErrors,
      fallbackDecisions: this.fallbackDecisions,
      refused: this.refused,
    };
  }

  async ping(): Promise<void> {
    await this.o.primary.ping();
  }

  async close(): Promise<void> {
    await this.o.fallback.close();
    await this.o.primary.close();
  }
}
