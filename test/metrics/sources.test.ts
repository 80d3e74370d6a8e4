/**
 * The exporter's reading of other modules' stats: KEK calls through the
 * counting decorator, histogram and summary rendering from snapshots, and
 * gauges read at scrape time (nothing is polled between scrapes).
 */
import { describe, expect, it } from "vitest";
import { InstrumentedKek, type KekProvider, type KekRef } from "../../src/crypto/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { LatencyHistogram, type UpstreamStats } from "../../src/resilience/index.js";
import type { SecretsStats } from "../../src/secrets/index.js";
import { sample } from "./helpers.js";

const REF: KekRef = { provider: "aws-kms", keyId: "arn:aws:kms:eu-west-1:111122223333:key/test", version: 1 };

function fakeKek(failUnwrap: boolean): KekProvider {
  return {
    name: "aws-kms",
    current: async () => REF,
    generateDataKey: async () => ({ ref: REF, wrapped: Buffer.alloc(8), dek: Buffer.alloc(32) }),
    wrap: async () => ({ ref: REF, wrapped: Buffer.alloc(8) }),
    unwrap: async () => {
      if (failUnwrap) throw new Error("kms unreachable");
      return Buffer.alloc(32);
    },
    rotate: async () => REF,
    retire: async () => undefined,
    versions: async () => [],
    close: async () => undefined,
  };
}

const secretsStats: SecretsStats = { hits: 7, misses: 2, staleServes: 1, loadErrors: 3, rotations: 0, loads: 2 };

function baseSources() {
  let waiting = 0;
  return {
    secrets: { stats: () => ({ ...secretsStats }) },
    db: { poolStats: () => ({ total: 4, idle: 1, waiting }) },
    setWaiting: (n: number) => (waiting = n),
  };
}

describe("InstrumentedKek", () => {
  it("counts calls and failures per operation and passes results and errors through", async () => {
    const kek = new InstrumentedKek(fakeKek(true));
    await kek.generateDataKey({ purpose: "t" });
    await kek.generateDataKey({ purpose: "t" });
    await expect(kek.unwrap(REF, Buffer.alloc(8), { purpose: "t" })).rejects.toThrow("kms unreachable");
    const s = kek.stats();
    expect(s.provider).toBe("aws-kms");
    expect(s.operations.generateDataKey).toMatchObject({ calls: 2, errors: 0 });
    expect(s.operations.generateDataKey.latency.count).toBe(2);
    expect(s.operations.unwrap).toMatchObject({ calls: 1, errors: 1 });
    expect(s.operations.wrap.calls).toBe(0);
  });
});

describe("createMetrics sources", () => {
  it("exports KMS calls, errors and a latency histogram in seconds", async () => {
    const kek = new InstrumentedKek(fakeKek(true));
    await kek.generateDataKey({ purpose: "t" });
    await kek.unwrap(REF, Buffer.alloc(8), { purpose: "t" }).catch(() => undefined);
    const m = createMetrics({ ...baseSources(), kek: { kekStats: () => kek.stats() }, defaultMetrics: false });
    const text = await m.render();
    expect(sample(text, "rampart_kms_calls_total", { provider: "aws-kms", operation: "generateDataKey" })).toBe(1);
    expect(sample(text, "rampart_kms_errors_total", { provider: "aws-kms", operation: "unwrap" })).toBe(1);
    expect(sample(text, "rampart_kms_call_duration_seconds_bucket", { operation: "unwrap", le: "+Inf" })).toBe(1);
    expect(sample(text, "rampart_kms_call_duration_seconds_bucket", { operation: "unwrap", le: "0.005" })).toBeDefined();
    expect(sample(text, "rampart_kms_call_duration_seconds_count", { operation: "unwrap" })).toBe(1);
    expect(text).toContain("# TYPE rampart_kms_call_duration_seconds histogram");
    // The key ARN is a label of the KEK, not of the metric.
    expect(text).not.toContain("111122223333");
  });

  it("reads the secrets counters and pool gauges at scrape time", async () => {
    const src = baseSources();
    const m = createMetrics({ ...src, defaultMetrics: false });
    let text = await m.render();
    expect(sample(text, "rampart_secrets_cache_hits_total")).toBe(7);
    expect(sample(text, "rampart_secrets_cache_misses_total")).toBe(2);
    expect(sample(text, "rampart_secrets_stale_serves_total")).toBe(1);
    expect(sample(text, "rampart_secrets_load_errors_total")).toBe(3);
    expect(sample(text, "rampart_db_pool_connections", { state: "in_use" })).toBe(3);
    expect(sample(text, "rampart_db_pool_connections", { state: "idle" })).toBe(1);
    expect(sample(text, "rampart_db_pool_waiting")).toBe(0);
    src.setWaiting(5);
    text = await m.render();
    expect(sample(text, "rampart_db_pool_waiting")).toBe(5);
  });

  it("exports argon2 queue depth, operations and durations", async () => {
    const hasher = {
      stats: () => ({
        maxConcurrency: 2,
        maxQueue: 10,
        active: 2,
        queued: 3,
        completed: { hash: 4, verify: 5, dummy: 1 },
        rejected: 1,
        wait: { count: 10, sumMs: 500, maxMs: 200 },
        compute: { count: 10, sumMs: 150, maxMs: 20 },
      }),
    };
    const text = await createMetrics({ ...baseSources(), hasher, defaultMetrics: false }).render();
    expect(sample(text, "rampart_argon2_queue_depth")).toBe(3);
    expect(sample(text, "rampart_argon2_active")).toBe(2);
    expect(sample(text, "rampart_argon2_operations_total", { op: "verify" })).toBe(5);
    expect(sample(text, "rampart_argon2_rejections_total")).toBe(1);
    expect(sample(text, "rampart_argon2_duration_seconds_sum")).toBeCloseTo(0.15);
    expect(sample(text, "rampart_argon2_duration_seconds_count")).toBe(10);
    expect(sample(text, "rampart_argon2_wait_seconds_sum")).toBeCloseTo(0.5);
  });

  it("exports upstream counters, breaker state and latency", async () => {
    const h = new LatencyHistogram();
    h.observe(30);
    h.observe(7000);
    const stats: UpstreamStats = {
      name: "smtp", calls: 2, successes: 1, failures: 1, retries: 1, timeouts: 1, breaker: "open", breakerOpens: 1,
      rejections: { breakerOpen: 4, bulkheadFull: 0 }, inFlight: 0, queued: 0, latency: h.snapshot(),
    };
    const text = await createMetrics({ ...baseSources(), upstreams: { stats: () => [stats] }, defaultMetrics: false }).render();
    expect(sample(text, "rampart_upstream_calls_total", { upstream: "smtp", result: "failure" })).toBe(1);
    expect(sample(text, "rampart_upstream_rejections_total", { upstream: "smtp", reason: "breaker_open" })).toBe(4);
    expect(sample(text, "rampart_upstream_breaker_open", { upstream: "smtp" })).toBe(1);
    expect(sample(text, "rampart_upstream_call_duration_seconds_bucket", { upstream: "smtp", le: "0.05" })).toBe(1);
    expect(sample(text, "rampart_upstream_call_duration_seconds_bucket", { upstream: "smtp", le: "+Inf" })).toBe(2);
    expect(sample(text, "rampart_upstream_call_duration_seconds_sum", { upstream: "smtp" })).toBeCloseTo(7.03);
  });

  it("counts security events until closed", async () => {
    const listeners: ((e: { name: "auth.locked" }) => void)[] = [];
    const events = {
      on(l: (e: { name: "auth.locked" }) => void) {
        listeners.push(l);
        return () => listeners.splice(listeners.indexOf(l), 1);
      },
    };
    const m = createMetrics({ ...baseSources(), events: events as never, defaultMetrics: false });
    listeners.forEach((l) => l({ name: "auth.locked" }));
    expect(sample(await m.render(), "rampart_auth_lockouts_total")).toBe(1);
    m.close();
    expect(listeners).toHaveLength(0);
  });
});
