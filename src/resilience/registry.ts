/**
 * The upstreams of one runtime, by name: created once at start-up and shared
 * by every caller (a breaker only works when all calls to an upstream go
 * through the same one), and listed for the metrics exporter.
 *
 * Per-name overrides let a deployment or a test replace part of a built-in
 * upstream's settings (a shorter timeout, a faster breaker cooldown) without
 * losing the rest, its failure classification included.
 */
import type { UpstreamOptions } from "./options.js";
import type { UpstreamStats } from "./stats.js";
import { createUpstream, type Upstream } from "./upstream.js";

export type UpstreamOverrides = Readonly<Record<string, Partial<UpstreamOptions>>>;

export class UpstreamRegistry {
  private readonly byName = new Map<string, Upstream>();

  /**
   * @param defaults options every upstream inherits (typically the runtime's `log`).
   * @param overrides options that replace, per upstream name, those its creator passes.
   */
  constructor(
    private readonly defaults: Partial<UpstreamOptions> = {},
    private readonly overrides: UpstreamOverrides = {},
  ) {}

  /** Creates and registers an upstream; a second one of the same name is refused. */
  create(name: string, options: UpstreamOptions): Upstream {
    if (this.byName.has(name)) throw new RangeError(`upstream '${name}' is already registered`);
    const upstream = createUpstream(name, { ...this.defaults, ...options, ...this.overrides[name] });
    this.byName.set(name, upstream);
    return upstream;
  }

  /**
   * The upstream of that name, created with `options` on first use. For
   * callers that may be built more than once on one runtime (a webhook
   * dispatcher per app, say): they all share one breaker, as they share the
   * upstream. Later callers' options are not applied.
   */
  ensure(name: string, options: UpstreamOptions): Upstream {
    return this.byName.get(name) ?? this.create(name, options);
  }

  get(name: string): Upstream | undefined {
    return this.byName.get(name);
  }

  /** Every upstream's counters, for metrics. */
  stats(): UpstreamStats[] {
    return [...this.byName.values()].map((u) => u.stats());
  }
}
