/**
 * In-process rate-limit store: the embedded mode's limiter and the fallback
 * while Redis is unreachable. Node runs `consume` to completion without
 * interleaving, so each decision is atomic by construction.
 *
 * Memory is bounded without resetting live buckets early. A bucket that has
 * refilled completely carries no information (forgetting it gives the same
 * answers), so full buckets are dropped first: by a periodic sweep, and from
 * the least recently touched end when a new key would exceed `maxKeys`. Only
 * when the oldest entries are all still draining is the least recently used
 * one evicted; that client then starts over with a full bucket. With the
 * bound above the number of clients active within one window this never
 * happens; it is counted (`evictedLive`) so an operator sees when it does.
 */
import type { Clock } from "../runtime/clock.js";
import { assertCost, intervalUs, type RateLimitPolicy } from "./policy.js";
import { gcra } from "./token-bucket.js";
import type { RateLimitDecision, RateLimitStore } from "./types.js";

export interface MemoryRateLimitStoreOptions {
  clock: Clock;
  /** Most buckets kept (default 100 000). */
  maxKeys?: number;
  /** How often full buckets are swept (ms, default 30 000). */
  sweepIntervalMs?: number;
}

export interface MemoryRateLimitStats {
  /** Buckets held now. */
  keys: number;
  maxKeys: number;
  /** Full buckets forgotten (no information lost). */
  expired: number;
  /** Still-draining buckets evicted to stay within `maxKeys` (their clients got a full bucket early). */
  evictedLive: number;
}

// How many of the least recently used buckets an insertion beyond the bound
// inspects for a full one before it evicts a live one: constant work per
// request, so a flood of new keys cannot make every decision O(n).
const EVICTION_SCAN = 32;

export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = "memory" as const;
  /** Bucket key → TAT (µs), in order of last touch: a Map iterates oldest first. */
  private readonly buckets = new Map<string, number>();
  private readonly clock: Clock;
  private readonly maxKeys: number;
  private readonly sweeper: NodeJS.Timeout;
  private expired = 0;
  private evictedLive = 0;

  constructor(options: MemoryRateLimitStoreOptions) {
    this.clock = options.clock;
    this.maxKeys = options.maxKeys ?? 100_000;
    if (!Number.isSafeInteger(this.maxKeys) || this.maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, instead got ${String(options.maxKeys)}`);
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.sweeper.unref();
  }

  async consume(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    return this.consumeSync(key, policy, cost);
  }

  /** The same decision without a promise, for callers already on the hot path. */
  consumeSync(key: string, policy: RateLimitPolicy, cost = 1): RateLimitDecision {
    assertCost(policy, cost);
    const k = `${policy.name}:${key}`;
    const nowUs = this.clock.now() * 1000;
    const stored = this.buckets.get(k);
    const step = gcra(stored, nowUs, intervalUs(policy), policy.burst, cost);
    // Delete and re-insert moves the bucket to the most recently used end.
    if (stored !== undefined) this.buckets.delete(k);
    const tat = step.tatUs ?? stored;
    if (tat !== undefined && tat > nowUs) this.buckets.set(k, tat);
    if (this.buckets.size > this.maxKeys) this.evict(nowUs);
    return step.decision;
  }

  private evict(nowUs: number): void {
    let scanned = 0;
    for (const [k, tat] of this.buckets) {
      if (this.buckets.size <= this.maxKeys || scanned++ >= EVICTION_SCAN) break;
      if (tat <= nowUs) {
        this.buckets.delete(k);
        this.expired++;
      }
    }
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
      this.evictedLive++;
    }
  }

  /** Forgets every full bucket (runs periodically; public for tests and shutdown paths). */
  sweep(): void {
    const nowUs = this.clock.now() * 1000;
    for (const [k, tat] of this.buckets) {
      if (tat <= nowUs) {
        this.buckets.delete(k);
        this.expired++;
      }
    }
  }

  stats(): MemoryRateLimitStats {
    return { keys: this.buckets.size, maxKeys: this.maxKeys, expired: this.expired, evictedLive: this.evictedLive };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.buckets.clear();
  }
}
