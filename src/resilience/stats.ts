/**
 * Counters and a latency histogram per upstream, kept on the upstream
 * instance so the metrics module can export them (Prometheus histograms use
 * cumulative `le` buckets; these are the same buckets, in milliseconds).
 */

/** Upper bounds of the latency buckets (ms); a last, implicit bucket is +Inf. */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000] as const;

export type BreakerState = "closed" | "open" | "half-open" | "isolated" | "disabled";

export interface LatencyStats {
  count: number;
  sumMs: number;
  maxMs: number;
  /** Cumulative counts per upper bound (`le`), in the order of LATENCY_BUCKETS_MS, then +Inf. */
  buckets: { le: number; count: number }[];
}

export interface UpstreamStats {
  name: string;
  /** `execute` calls. */
  calls: number;
  successes: number;
  /** Calls that ended in an error (after any retries), rejections included. */
  failures: number;
  /** Attempts made beyond the first (idempotent calls only). */
  retries: number;
  /** Attempts cut off by the timeout. */
  timeouts: number;
  breaker: BreakerState;
  /** Times the breaker opened. */
  breakerOpens: number;
  /** Calls refused without reaching the upstream. */
  rejections: { breakerOpen: number; bulkheadFull: number };
  /** Calls running and waiting in the bulkhead now. */
  inFlight: number;
  queued: number;
  /** Duration of whole calls (retries and queueing included). */
  latency: LatencyStats;
}

export class LatencyHistogram {
  private readonly counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  private count = 0;
  private sum = 0;
  private max = 0;

  observe(ms: number): void {
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
    const i = LATENCY_BUCKETS_MS.findIndex((le) => ms <= le);
    this.counts[i === -1 ? LATENCY_BUCKETS_MS.length : i]!++;
  }

  snapshot(): LatencyStats {
    let running = 0;
    const buckets = [...LATENCY_BUCKETS_MS, Number.POSITIVE_INFINITY].map((le, i) => ({ le, count: (running += this.counts[i]!) }));
    return { count: this.count, sumMs: this.sum, maxMs: this.max, buckets };
  }
}
