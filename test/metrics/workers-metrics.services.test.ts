/**
 * `rampart serve --workers 2` on PostgreSQL and Redis: one scrape reports the
 * whole instance, whichever worker accepts it (src/metrics/cluster.ts).
 *
 * - main port: after K requests, every scrape shows the route's request
 *   count at exactly K and the scrapes before it at exactly their number
 *   (so monotonic), though the scrapes were answered by both workers; with
 *   per-worker metrics each would show about K/2;
 * - METRICS_PORT: the primary binds the loopback port (the workers do not,
 *   and the main port has no /metrics) and reports the same sums;
 * - the merged exposition has one series per name and labels, no process
 *   start time (omitted), one Node.js version, and the number of workers
 *   merged;
 * - gauges merge as declared: pool sizes summed, 0/1 states and ages by max,
 *   the audit verdict by min, the audit head (one database, read by every
 *   worker) by max rather than doubled (two registries of createMetrics
 *   merged by the primary's code path, in this process).
 */
import { request, type IncomingHttpHeaders } from "node:http";
import { AggregatorRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RevocationHealth } from "../../src/auth/revocation/freshness.js";
import { createMetrics } from "../../src/metrics/index.js";
import type { FailoverStats } from "../../src/ratelimit/failover-store.js";
import { pollUntil } from "../helpers/async.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { spawnTs, type Spawned } from "../helpers/process.js";

const TOKEN = "workers-metrics-token-7d2f0c41a9";
const ROUTE = "/.well-known/jwks.json";
const K = 10;
const SCRAPES = 6;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a connection of its own (the cluster hands each new connection to the next worker). */
function send(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

type LogLine = Record<string, unknown> & { msg?: string };

function logLines(p: Spawned): LogLine[] {
  return p
    .stdout()
    .split("\n")
    .flatMap((line) => {
      if (!line.startsWith("{")) return [];
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return []; // a line still being written
      }
    });
}

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
  line: string;
}

/** The samples of a Prometheus text exposition. */
function parse(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]), line });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
function value(series: Series[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found.length, `${name} ${JSON.stringify(labels)}: at most one series`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

const requests = (route: string) => ({ method: "GET", route, status_code: "200" });

/** Starts the cluster; resolves with the main port's URL and the primary's metrics URL (with METRICS_PORT). */
async function startCluster(env: TestEnv): Promise<{ p: Spawned; url: string; workerPids: number[]; metricsUrl?: string }> {
  const p = spawnTs("src/cli/main.ts", ["serve", "--workers", "2"], env.env);
  await p.waitFor(/"msg":"all workers serving"/, 90_000);
  await pollUntil(async () => logLines(p).filter((l) => l.msg === "rampart listening").length, (n) => n === 2);
  const lines = logLines(p);
  const workerPids = lines.find((l) => l.msg === "all workers serving")!.workerPids as number[];
  const url = String(lines.find((l) => l.msg === "rampart listening")!.url);
  const starting = lines.find((l) => l.msg === "starting workers")!;
  return { p, url, workerPids, ...(typeof starting.metricsUrl === "string" ? { metricsUrl: starting.metricsUrl } : {}) };
}

async function stop(p: Spawned | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill("SIGTERM");
  const exit = await p.exit;
  expect(exit.code).toBe(0);
}

/** K requests to ROUTE, each on its own connection. */
async function sendRequests(url: string): Promise<void> {
  for (let i = 0; i < K; i++) expect((await send(`${url}${ROUTE}`)).status).toBe(200);
}

/** Checks what every merged scrape shows whatever its number. */
function expectInstanceWide(series: Series[]): void {
  expect(value(series, "http_server_request_duration_seconds_count", requests(ROUTE))).toBe(K);
  expect(value(series, "http_server_request_duration_seconds_bucket", { ...requests(ROUTE), le: "+Inf" })).toBe(K);
  expect(value(series, "rampart_cluster_workers")).toBe(2);
  expect(value(series, "process_start_time_seconds")).toBeUndefined();
  expect(series.filter((s) => s.name === "nodejs_version_info")).toHaveLength(1);
  const keys = series.map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`);
  expect(keys.length).toBeGreaterThan(100);
  expect(new Set(keys).size).toBe(keys.length);
}

describe("rampart serve --workers 2: /metrics on the main port reports the whole instance", { timeout: 180_000 }, () => {
  let env: TestEnv;
  let p: Spawned | undefined;
  let url: string;
  let workerPids: number[];

  beforeAll(async () => {
    env = await createTestEnv("postgres", { RAMPART_SECRET_METRICS_TOKEN: TOKEN, SHUTDOWN_DRAIN_MS: "0" });
    ({ p, url, workerPids } = await startCluster(env));
  }, 120_000);

  afterAll(async () => {
    await stop(p);
    await env?.cleanup();
  });

  it("shows the route's K requests and every earlier scrape on each scrape, answered by either worker", async () => {
    await sendRequests(url);
    const traceIds: string[] = [];
    for (let i = 0; i < SCRAPES; i++) {
      const res = await send(`${url}/metrics`, { authorization: `Bearer ${TOKEN}` });
      expect(res.status, res.body).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
      traceIds.push(String(res.headers["x-request-id"]));
      const series = parse(res.body);
      expectInstanceWide(series);
      // A scrape is counted once answered: scrape i sees the i before it, whichever worker answered those.
      expect(value(series, "http_server_request_duration_seconds_count", requests("/metrics")) ?? 0).toBe(i);
    }
    // The scrapes reached both workers (the access log line of each names its pid).
    const byTrace = await pollUntil(
      async () => new Map(logLines(p!).flatMap((l) => (l.msg === "request" && typeof l.traceId === "string" ? [[l.traceId, l.pid as number] as const] : []))),
      (m) => traceIds.every((t) => m.has(t)),
    );
    expect(new Set(traceIds.map((t) => byTrace.get(t)))).toEqual(new Set(workerPids));
  });

  it("still refuses a scrape without the token", async () => {
    const res = await send(`${url}/metrics`);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ success: false, code: "UNAUTHENTICATED" });
  });
});

describe("rampart serve --workers 2 with METRICS_PORT: the primary serves the whole instance's metrics", { timeout: 180_000 }, () => {
  let env: TestEnv;
  let p: Spawned | undefined;
  let url: string;
  let metricsUrl: string | undefined;

  beforeAll(async () => {
    env = await createTestEnv("postgres", { METRICS_PORT: "0", SHUTDOWN_DRAIN_MS: "0" });
    ({ p, url, metricsUrl } = await startCluster(env));
  }, 120_000);

  afterAll(async () => {
    await stop(p);
    await env?.cleanup();
  });

  it("is bound by the primary on loopback, by no worker, and the main port has no /metrics", async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const listening = logLines(p!).filter((l) => l.msg === "rampart listening");
    expect(listening).toHaveLength(2);
    for (const l of listening) expect(l.metricsUrl).toBeUndefined();
    expect((await send(`${url}/metrics`)).status).toBe(404);
  });

  it("shows the route's K requests on every scrape", async () => {
    await sendRequests(url);
    for (let i = 0; i < SCRAPES; i++) {
      const res = await send(`${metricsUrl!}/metrics`);
      expect(res.status, res.body).toBe(200);
      const series = parse(res.body);
      expectInstanceWide(series);
      // The scrapes themselves never reach a worker's HTTP server.
      expect(value(series, "http_server_request_duration_seconds_count", requests("/metrics"))).toBeUndefined();
    }
  });
});

describe("merging the registries of two workers", () => {
  /** One worker's metrics, from the stats its modules would keep. */
  function worker(o: { total: number; idle: number; waiting: number; revocation: RevocationHealth["state"]; syncAgeMs: number; degraded: boolean; verified: boolean; requests: number }) {
    const failover: FailoverStats = { degraded: o.degraded, degradedSince: o.degraded ? 1 : null, storeErrors: 0, fallbackDecisions: 0, refused: 0 };
    const metrics = createMetrics({
      secrets: { stats: () => ({ hits: 1, misses: 1, staleServes: 0, loadErrors: 0, loads: 1, rotations: 0 }) },
      db: { poolStats: () => ({ total: o.total, idle: o.idle, waiting: o.waiting }) },
      rateLimit: { stats: () => ({ failover }) },
      revocations: { health: () => ({ state: o.revocation, syncedAt: 1, syncAgeMs: o.syncAgeMs, failingSince: null, remainingMs: 1, staleMaxMs: 1, pendingWrites: 1 }) },
      audit: {
        head: () => Promise.resolve({ seq: 42 }),
        verifier: { stats: () => ({ runs: 1, failures: o.verified ? 0 : 1, lastOk: o.verified, lastVerifiedAt: o.verified ? 1_700_000_000_000 : null, verifiedHead: null, lastFullAt: null }) },
      },
    });
    for (let i = 0; i < o.requests; i++) metrics.http.observe({ method: "GET", route: ROUTE, statusCode: 200, durationSeconds: 0.01 });
    return metrics;
  }

  it("sums counts and pool sizes, takes max of states and ages, min of the audit verdict, and omits the start time", async () => {
    const a = worker({ total: 5, idle: 2, waiting: 1, revocation: "synced", syncAgeMs: 1_000, degraded: true, verified: true, requests: 3 });
    const b = worker({ total: 4, idle: 4, waiting: 0, revocation: "stale", syncAgeMs: 9_000, degraded: false, verified: false, requests: 2 });
    try {
      const answers = await Promise.all([a, b].map((m) => m.registry.getMetricsAsJSON()));
      const series = parse(await AggregatorRegistry.aggregate(answers).metrics());
      expect(value(series, "http_server_request_duration_seconds_count", requests(ROUTE))).toBe(5);
      expect(value(series, "rampart_secrets_cache_hits_total")).toBe(2);
      expect(value(series, "rampart_db_pool_connections", { state: "in_use" })).toBe(3);
      expect(value(series, "rampart_db_pool_connections", { state: "idle" })).toBe(6);
      expect(value(series, "rampart_db_pool_waiting")).toBe(1);
      expect(value(series, "rampart_revocation_list_state", { state: "synced" })).toBe(1);
      expect(value(series, "rampart_revocation_list_state", { state: "stale" })).toBe(1);
      expect(value(series, "rampart_revocation_list_state", { state: "closed" })).toBe(0);
      expect(value(series, "rampart_revocation_list_sync_age_seconds")).toBe(9);
      expect(value(series, "rampart_revocation_pending_writes")).toBe(2);
      expect(value(series, "rampart_rate_limit_store_degraded")).toBe(1);
      expect(value(series, "rampart_audit_chain_head_seq")).toBe(42);
      expect(value(series, "rampart_audit_chain_verified")).toBe(0);
      expect(value(series, "rampart_audit_verify_failures_total")).toBe(1);
      expect(value(series, "rampart_audit_chain_last_verified_timestamp_seconds")).toBe(1_700_000_000);
      expect(value(series, "process_start_time_seconds")).toBeUndefined();
      expect(series.filter((s) => s.name === "nodejs_version_info")).toHaveLength(1);
    } finally {
      a.close();
      b.close();
    }
  });
});
