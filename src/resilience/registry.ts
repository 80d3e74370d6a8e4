/**
 * The upstreams of one runtime, by name: created once at start-up and shared
 * by every caller (a breaker only works when all calls to an upstream go
 * through the same one), and listed for the metrics exporter.
 */
import type { UpstreamOptions } from "./options.js";
import type { UpstreamStats } from "./stats.js";
import { createUpstream, type Upstream } from "./upstream.js";

export class UpstreamRegistry {
  private readonly byName = new Map<string, Upstream>();

  /** @param defaults options every upstream inherits (typically the runtime's `log`). */
  constructor(private readonly defaults: Partial<UpstreamOptions> = {}) {}

  /** Creates and registers an upstream; a second one of the same name is refused. */
  create(name: string, options: UpstreamOptions): Upstream {
    if (this.byName.has(name)) throw new RangeError(`upstream '${name}' is already registered`);
    const upstream = createUpstream(name, { ...this.defaults, ...options });
    this.byName.set(name, upstream);
    return upstream;
  }

  get(name: string): Upstream | undefined {
    return this.byName.get(name);
  }

  /** Every upstream's counters, for metrics. */
  stats(): UpstreamStats[] {
    return [...this.byName.values()].map((u) => u.stats());
  }
}
