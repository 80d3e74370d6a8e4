/**
 * What a run measured: per endpoint, HDR histograms of latency from the
 * scheduled start (coordinated-omission corrected: the time a request waited
 * because the generator or an earlier step was late is part of it) and of
 * service time (from the send, for comparison), per phase of the shape, and
 * a per-second timeline of arrivals, completions, errors and latency.
 *
 * Values are recorded in microseconds at 3 significant digits. The timeline
 * keeps only numbers per second: a second's histograms are summarised and
 * reset once the clock has passed it (samples arrive in completion order),
 * so an hour of soak costs a few kilobytes per minute, not a histogram per second.
 */
import { hdr, type Histogram } from "./packages.js";
import type { Phase } from "./shape.js";

export type Outcome = "ok" | "expected" | "error";

export interface Sample {
  endpoint: string;
  /** When the request was due (clock ms): the arrival, or the previous step's end plus think time. */
  scheduledAt: number;
  sentAt: number;
  endedAt: number;
  /** HTTP status; 0 when no answer came (timeout, connection error). */
  status: number;
  outcome: Outcome;
  /** For errors: `429 RATE_LIMITED`, `500 INTERNAL_ERROR`, `timeout`, `ECONNREFUSED`, ... */
  kind?: string;
  /** For errors: the envelope's message or the socket error, as received (rendered as text only). */
  message?: string;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface EndpointStats {
  requests: number;
  ok: number;
  /** Answers the step expects though they are not 2xx (a wrong password's 401). */
  expected: number;
  errors: number;
  /** 429 answers by envelope code (RATE_LIMITED, QUOTA_EXCEEDED); they are errors too. */
  throttled: Record<string, number>;
  statuses: Record<string, number>;
  errorKinds: { kind: string; count: number; example: string }[];
  /** From the scheduled start, in ms. */
  latencyMs: Percentiles;
  /** From the send, in ms. */
  serviceMs: Percentiles;
}

export interface PhaseStats {
  name: string;
  startMs: number;
  endMs: number;
  endpoints: Record<string, { requests: number; errors: number; p95: number; p99: number }>;
}

export interface SecondStats {
  /** Seconds since the start. */
  t: number;
  scheduled: number;
  started: number;
  dropped: number;
  completed: number;
  errors: number;
  throttled: number;
  /** p95 latency (ms, corrected) per endpoint of the requests that completed in this second; null without any. */
  p95: Record<string, number | null>;
  p99: Record<string, number | null>;
}

const MAX_EXAMPLE = 200;

function histogram(): Histogram {
  return hdr().build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, autoResize: true });
}

const toUs = (ms: number) => Math.max(1, Math.round(ms * 1000));
const toMs = (us: number) => Math.round(us) / 1000;

/**
 * Percentiles of a histogram in ms. HDR values are bucket-equivalents (3
 * significant digits); `maxUs`, the exact largest value when the caller
 * tracked it, gives the max and caps the percentiles.
 */
export function percentilesOf(h: Histogram, maxUs?: number): Percentiles {
  if (h.totalCount === 0) return { p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  const max = maxUs ?? h.maxValue;
  const at = (p: number) => toMs(Math.min(h.getValueAtPercentile(p), max));
  return { p50: at(50), p90: at(90), p95: at(95), p99: at(99), max: toMs(max), mean: toMs(h.mean) };
}

interface EndpointState {
  requests: number;
  ok: number;
  expected: number;
  errors: number;
  throttled: Record<string, number>;
  statuses: Record<string, number>;
  kinds: Map<string, { count: number; example: string }>;
  latency: Histogram;
  service: Histogram;
  /** Exact largest values (µs): HDR keeps only their bucket. */
  maxLatency: number;
  maxService: number;
  second: Histogram;
  phases: { requests: number; errors: number; latency: Histogram }[];
}

export interface RecorderOptions {
  /** Clock ms of the start of the schedule (time 0 of phases and timeline). */
  startedAt: number;
  phases: Phase[];
  endpoints: readonly string[];
  /** Every sample as it is recorded (raw export, tests). */
  onSample?: (sample: Sample) => void;
}

export class Recorder {
  private readonly endpoints = new Map<string, EndpointState>();
  private readonly seconds: SecondStats[] = [];
  /** The second whose latency histograms are being filled (completion time). */
  private openSecond = 0;

  constructor(private readonly options: RecorderOptions) {
    for (const name of options.endpoints) this.endpointState(name);
  }

  private endpointState(name: string): EndpointState {
    let s = this.endpoints.get(name);
    if (!s) {
      s = { requests: 0, ok: 0, expected: 0, errors: 0, throttled: {}, statuses: {}, kinds: new Map(), latency: histogram(), service: histogram(), maxLatency: 0, maxService: 0, second: histogram(), phases: this.options.phases.map(() => ({ requests: 0, errors: 0, latency: histogram() })) };
      this.endpoints.set(name, s);
    }
    return s;
  }

  private secondAt(clockMs: number): SecondStats {
    const t = Math.max(0, Math.floor((clockMs - this.options.startedAt) / 1000));
    while (this.seconds.length <= t) this.seconds.push({ t: this.seconds.length, scheduled: 0, started: 0, dropped: 0, completed: 0, errors: 0, throttled: 0, p95: {}, p99: {} });
    return this.seconds[t]!;
  }

  private phaseIndex(clockMs: number): number {
    const t = clockMs - this.options.startedAt;
    const i = this.options.phases.findIndex((p) => t < p.endMs);
    return i === -1 ? this.options.phases.length - 1 : i;
  }

  scheduled(at: number): void {
    this.secondAt(at).scheduled++;
  }

  started(at: number): void {
    this.secondAt(at).started++;
  }

  dropped(at: number): void {
    this.secondAt(at).dropped++;
  }

  record(sample: Sample): void {
    this.advance(sample.endedAt);
    const s = this.endpointState(sample.endpoint);
    const latency = toUs(sample.endedAt - sample.scheduledAt);
    s.requests++;
    const service = toUs(sample.endedAt - sample.sentAt);
    s.latency.recordValue(latency);
    s.service.recordValue(service);
    s.maxLatency = Math.max(s.maxLatency, latency);
    s.maxService = Math.max(s.maxService, service);
    s.second.recordValue(latency);
    const phase = s.phases[this.phaseIndex(sample.scheduledAt)];
    if (phase) {
      phase.requests++;
      phase.latency.recordValue(latency);
    }
    const status = String(sample.status);
    s.statuses[status] = (s.statuses[status] ?? 0) + 1;
    const second = this.secondAt(sample.endedAt);
    second.completed++;
    if (sample.outcome === "ok") s.ok++;
    else if (sample.outcome === "expected") s.expected++;
    else {
      s.errors++;
      second.errors++;
      if (phase) phase.errors++;
      const kind = sample.kind ?? (sample.status ? String(sample.status) : "error");
      const known = s.kinds.get(kind);
      if (known) known.count++;
      else s.kinds.set(kind, { count: 1, example: (sample.message ?? "").slice(0, MAX_EXAMPLE) });
      if (sample.status === 429) {
        const code = kind.split(" ")[1] ?? "429";
        s.throttled[code] = (s.throttled[code] ?? 0) + 1;
        second.throttled++;
      }
    }
    this.options.onSample?.(sample);
  }

  /** Summarises the seconds before the one `nowMs` is in (their latency is complete). */
  advance(nowMs: number): void {
    const current = Math.max(0, Math.floor((nowMs - this.options.startedAt) / 1000));
    while (this.openSecond < current) this.closeSecond();
  }

  private closeSecond(): void {
    const second = this.secondAt(this.options.startedAt + this.openSecond * 1000);
    for (const [name, s] of this.endpoints) {
      const has = s.second.totalCount > 0;
      second.p95[name] = has ? toMs(s.second.getValueAtPercentile(95)) : null;
      second.p99[name] = has ? toMs(s.second.getValueAtPercentile(99)) : null;
      s.second.reset();
    }
    this.openSecond++;
  }

  /** The last complete second (for the live line), if any. */
  lastSecond(): SecondStats | undefined {
    return this.openSecond > 0 ? this.seconds[this.openSecond - 1] : undefined;
  }

  /** Closes the open second; call once, after the last sample. */
  finish(nowMs: number): void {
    this.advance(nowMs);
    this.closeSecond();
  }

  endpointStats(): Record<string, EndpointStats> {
    const out: Record<string, EndpointStats> = {};
    for (const [name, s] of this.endpoints) {
      out[name] = {
        requests: s.requests,
        ok: s.ok,
        expected: s.expected,
        errors: s.errors,
        throttled: { ...s.throttled },
        statuses: { ...s.statuses },
        errorKinds: [...s.kinds].map(([kind, k]) => ({ kind, count: k.count, example: k.example })).sort((a, b) => b.count - a.count),
        latencyMs: percentilesOf(s.latency, s.maxLatency),
        serviceMs: percentilesOf(s.service, s.maxService),
      };
    }
    return out;
  }

  phaseStats(): PhaseStats[] {
    return this.options.phases.map((p, i) => ({
      name: p.name,
      startMs: p.startMs,
      endMs: p.endMs,
      endpoints: Object.fromEntries(
        [...this.endpoints].map(([name, s]) => {
          const ph = s.phases[i]!;
          const pct = percentilesOf(ph.latency);
          return [name, { requests: ph.requests, errors: ph.errors, p95: pct.p95, p99: pct.p99 }];
        }),
      ),
    }));
  }

  timeline(): SecondStats[] {
    return this.seconds.map((s) => ({ ...s, p95: { ...s.p95 }, p99: { ...s.p99 } }));
  }
}
