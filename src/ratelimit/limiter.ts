/**
 * The rate limiter a host or the plugin calls: named policies over one store,
 * returning the decision together with the response headers, and counting
 * admitted and refused decisions per policy for metrics.
 */
import { RampartError } from "../errors/index.js";
import { rateLimitHeaders } from "./headers.js";
import type { RateLimitPolicy } from "./policy.js";
import type { RateLimitDecision, RateLimitStore } from "./types.js";

export interface RateLimitResult {
  readonly policy: RateLimitPolicy;
  readonly decision: RateLimitDecision;
  /** The response headers for this decision (with `retry-after` when refused). */
  readonly headers: Record<string, string>;
}

export interface RateLimiterOptions {
  store: RateLimitStore;
  policies: readonly RateLimitPolicy[];
}

export interface PolicyCounts {
  allowed: number;
  denied: number;
}

export class RateLimiter {
  readonly store: RateLimitStore;
  private readonly byName = new Map<string, RateLimitPolicy>();
  private readonly counts = new Map<string, PolicyCounts>();

  constructor(options: RateLimiterOptions) {
    this.store = options.store;
    for (const p of options.policies) {
      if (this.byName.has(p.name)) throw new RangeError(`rate-limit policy '${p.name}' is defined twice`);
      this.define(p);
    }
  }

  /**
   * Adds a policy (an inline route policy is added when its route is
   * registered). A name already taken is refused, except by the very same
   * policy again (a route registered on two apps that share this limiter).
   */
  define(policy: RateLimitPolicy): void {
    const existing = this.byName.get(policy.name);
    if (existing) {
      const same = existing.limit === policy.limit && existing.windowMs === policy.windowMs && existing.burst === policy.burst && existing.by === policy.by;
      if (same) return;
      throw new RangeError(`rate-limit policy '${policy.name}' is defined twice`);
    }
    this.byName.set(policy.name, policy);
    this.counts.set(policy.name, { allowed: 0, denied: 0 });
  }

  /** Whether a policy of this name exists. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The policy of this name; throws naming the known ones when there is none. */
  policy(name: string): RateLimitPolicy {
    const p = this.byName.get(name);
    if (!p) throw new RangeError(`unknown rate-limit policy '${name}'; known: ${[...this.byName.keys()].join(", ")}`);
    return p;
  }

  get policies(): readonly RateLimitPolicy[] {
    return [...this.byName.values()];
  }

  /** Takes `cost` tokens from `key`'s bucket under the named policy (see RateLimitStore.consume). */
  async consume(policyName: string, key: string, cost = 1): Promise<RateLimitResult> {
    const policy = this.policy(policyName);
    return this.result(policy, await this.store.consume(key, policy, cost));
  }

  /** `consume` without a promise when the store decides in process; undefined when it cannot (Redis). */
  consumeNow(policyName: string, key: string, cost = 1): RateLimitResult | undefined {
    if (!this.store.consumeSync) return undefined;
    const policy = this.policy(policyName);
    return this.result(policy, this.store.consumeSync(key, policy, cost));
  }

  private result(policy: RateLimitPolicy, decision: RateLimitDecision): RateLimitResult {
    const c = this.counts.get(policy.name)!;
    if (decision.allowed) c.allowed++;
    else c.denied++;
    return { policy, decision, headers: rateLimitHeaders(policy, decision) };
  }

  /** Admitted and refused decisions per policy since start. */
  stats(): Record<string, PolicyCounts> {
    return Object.fromEntries([...this.counts].map(([k, v]) => [k, { ...v }]));
  }
}

/** `429 RATE_LIMITED`, naming the policy that refused (an inline policy's generated name included) for metrics and logs. */
export class RateLimitedError extends RampartError {
  constructor(
    readonly policy: string,
    headers: Record<string, string>,
  ) {
    super("RATE_LIMITED", { headers });
  }
}
