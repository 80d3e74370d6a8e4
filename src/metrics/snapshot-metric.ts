/**
 * Metrics whose values are read from another module's stats snapshot at
 * scrape time (secrets cache, KMS calls, argon2, upstreams): nothing polls
 * and nothing is copied between scrapes. prom-client's own Counter and
 * Histogram only grow through inc()/observe(), so these are small metric
 * objects of the shape its Registry renders (name, help, type, get()).
 */
import type { Aggregator, Metric, Registry } from "prom-client";
import type { LatencyStats } from "../resilience/stats.js";

export type Labels = Readonly<Record<string, string>>;

/** One line of output: `<name><suffix>{labels} value`. */
export interface Sample {
  readonly value: number;
  readonly labels?: Labels;
  /** `_bucket`, `_sum` or `_count` for histograms and summaries. */
  readonly suffix?: "_bucket" | "_sum" | "_count";
}

export type SnapshotType = "counter" | "gauge" | "histogram" | "summary";

/** A metric rendered from `read()` at every scrape (a read that needs I/O may be async). */
export class SnapshotMetric {
  /**
   * @param aggregator how the cluster primary merges the workers' values
   *   (cluster.ts): `sum` (default; counters, histograms, summaries), or for a
   *   gauge `max`, `min`, `first`, `average` or `omit`.
   */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: SnapshotType,
    private readonly read: () => readonly Sample[] | Promise<readonly Sample[]>,
    readonly aggregator: Aggregator = "sum",
  ) {}

  /** Called by prom-client's cluster and JSON paths; the values are read in get(). */
  collect(): void {}

  /** The values are owned by the source module; there is nothing to reset here. */
  reset(): void {}

  async get(): Promise<{ name: string; help: string; type: SnapshotType; aggregator: Aggregator; values: { value: number; labels: Labels; metricName?: string }[] }> {
    const values = (await this.read()).map((s) => ({ value: s.value, labels: s.labels ?? {}, ...(s.suffix ? { metricName: this.name + s.suffix } : {}) }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** Registers a snapshot metric (prom-client renders any object of this shape; its types list only its own classes). */
export function registerSnapshot(
  registry: Registry,
  name: string,
  help: string,
  type: SnapshotType,
  read: () => readonly Sample[] | Promise<readonly Sample[]>,
  aggregator: Aggregator = "sum",
): SnapshotMetric {
  const metric = new SnapshotMetric(name, help, type, read, aggregator);
  registry.registerMetric(metric as unknown as Metric);
  return metric;
}

/** Histogram samples in seconds from a millisecond LatencyStats snapshot (cumulative `le` buckets, +Inf last). */
export function latencySamples(stats: LatencyStats, labels: Labels): Sample[] {
  const samples: Sample[] = stats.buckets.map((b) => ({
    value: b.count,
    labels: { ...labels, le: Number.isFinite(b.le) ? String(b.le / 1000) : "+Inf" },
    suffix: "_bucket" as const,
  }));
  samples.push({ value: stats.sumMs / 1000, labels, suffix: "_sum" }, { value: stats.count, labels, suffix: "_count" });
  return samples;
}

/** Summary samples (sum and count only, no quantiles) in seconds from a millisecond total. */
export function durationSamples(count: number, sumMs: number, labels: Labels = {}): Sample[] {
  return [
    { value: sumMs / 1000, labels, suffix: "_sum" },
    { value: count, labels, suffix: "_count" },
  ];
}
