/**
 * Metrics read at scrape time from the stats other modules keep: the secrets
 * cache, the KEK provider (KMS) calls, the argon2 hasher, the database pool,
 * the upstreams, the rate limiter's failover and the revocation list. Gauges use prom-client collect() callbacks and counters
 * are snapshot metrics (snapshot-metric.ts), so nothing polls between scrapes.
 * Across the workers of one instance (cluster.ts) counts and queue or pool
 * sizes are summed; the 0/1 state gauges and the sync age take the `max`
 * (any worker degraded, the stalest copy).
 */
import { Gauge, type Registry } from "prom-client";
import type { PasswordHasherStats } from "../auth/password/index.js";
import type { RevocationHealth, RevocationState } from "../auth/revocation/freshness.js";
import type { KekStats } from "../crypto/index.js";
import type { PoolStats } from "../db/index.js";
import type { FailoverStats } from "../ratelimit/failover-store.js";
import type { UpstreamStats } from "../resilience/index.js";
import type { SecretsStats } from "../secrets/index.js";
import { durationSamples, latencySamples, registerSnapshot, type Sample } from "./snapshot-metric.js";

/** What the exporter reads; each is a narrow view of a runtime part. */
export interface MetricSources {
  secrets: { stats(): SecretsStats };
  db: { poolStats(): PoolStats };
  /** The keyring (`runtime.crypto`). */
  kek?: { kekStats(): KekStats };
  /** The password hasher (`app.identity.hasher`). */
  hasher?: { stats(): PasswordHasherStats };
  /** An UpstreamRegistry (src/resilience): the runtime's (`runtime.upstreams`) in the composed server. */
  upstreams?: { stats(): UpstreamStats[] };
  /** The rate limiting of the app (`createRateLimiting`): `failover` is null in embedded mode. */
  rateLimit?: { stats(): { failover: FailoverStats | null } };
  /** The revocation list (`app.identity.revocations`). */
  revocations?: { health(): RevocationHealth };
}

export function registerSecretsMetrics(registry: Registry, secrets: MetricSources["secrets"]): void {
  const counters: [string, keyof SecretsStats, string][] = [
    ["rampart_secrets_cache_hits_total", "hits", "Secret reads answered from a fresh cache entry."],
    ["rampart_secrets_cache_misses_total", "misses", "Secret reads that found no fresh entry and loaded (or served stale)."],
    ["rampart_secrets_stale_serves_total", "staleServes", "Secret values served past their TTL because the provider failed."],
    ["rampart_secrets_load_errors_total", "loadErrors", "Secret provider calls that failed."],
    ["rampart_secrets_loads_total", "loads", "Secret provider loads that succeeded."],
    ["rampart_secrets_rotations_total", "rotations", "Secret reloads that found a changed value."],
  ];
  for (const [name, key, help] of counters) registerSnapshot(registry, name, help, "counter", () => [{ value: secrets.stats()[key] }]);
}

export function registerKmsMetrics(registry: Registry, kek: NonNullable<MetricSources["kek"]>): void {
  const each = (pick: (op: KekStats["operations"][keyof KekStats["operations"]], labels: Record<string, string>) => Sample[]) => () => {
    const s = kek.kekStats();
    return Object.entries(s.operations).flatMap(([operation, o]) => pick(o, { provider: s.provider, operation }));
  };
  registerSnapshot(registry, "rampart_kms_calls_total", "Calls to the KEK provider (local key, HSM, KMS) by provider and operation.", "counter", each((o, labels) => [{ value: o.calls, labels }]));
  registerSnapshot(registry, "rampart_kms_errors_total", "Failed calls to the KEK provider by provider and operation.", "counter", each((o, labels) => [{ value: o.errors, labels }]));
  registerSnapshot(registry, "rampart_kms_call_duration_seconds", "Latency of calls to the KEK provider.", "histogram", each((o, labels) => latencySamples(o.latency, labels)));
}

export function registerHasherMetrics(registry: Registry, hasher: NonNullable<MetricSources["hasher"]>): void {
  const registers = [registry];
  new Gauge({
    name: "rampart_argon2_queue_depth",
    help: "Password hashes waiting for a slot.",
    registers,
    collect() {
      this.set(hasher.stats().queued);
    },
  });
  new Gauge({
    name: "rampart_argon2_active",
    help: "Password hashes computing now.",
    registers,
    collect() {
      this.set(hasher.stats().active);
    },
  });
  registerSnapshot(registry, "rampart_argon2_operations_total", "Finished argon2 computations by operation (hash, verify, dummy).", "counter", () =>
    Object.entries(hasher.stats().completed).map(([op, value]) => ({ value, labels: { op } })),
  );
  registerSnapshot(registry, "rampart_argon2_rejections_total", "Password hashes refused with 503 because the queue was full.", "counter", () => [{ value: hasher.stats().rejected }]);
  registerSnapshot(registry, "rampart_argon2_duration_seconds", "Time spent computing argon2 hashes.", "summary", () => {
    const { compute } = hasher.stats();
    return durationSamples(compute.count, compute.sumMs);
  });
  registerSnapshot(registry, "rampart_argon2_wait_seconds", "Time argon2 hashes waited, computing excluded: the queue, the wait behind a thread's current hash, the delivery of the result.", "summary", () => {
    const { wait } = hasher.stats();
    return durationSamples(wait.count, wait.sumMs);
  });
}

export function registerPoolMetrics(registry: Registry, db: MetricSources["db"]): void {
  const registers = [registry];
  new Gauge({
    name: "rampart_db_pool_connections",
    help: "Database connections by state (in_use, idle).",
    labelNames: ["state"],
    registers,
    collect() {
      const s = db.poolStats();
      this.set({ state: "in_use" }, s.total - s.idle);
      this.set({ state: "idle" }, s.idle);
    },
  });
  new Gauge({
    name: "rampart_db_pool_waiting",
    help: "Queries waiting for a database connection.",
    registers,
    collect() {
      this.set(db.poolStats().waiting);
    },
  });
}

export function registerUpstreamMetrics(registry: Registry, upstreams: NonNullable<MetricSources["upstreams"]>): void {
  const per = (pick: (u: UpstreamStats) => Sample[]) => () => upstreams.stats().flatMap(pick);
  registerSnapshot(registry, "rampart_upstream_calls_total", "Calls to an upstream by result (success, failure).", "counter", per((u) => [
    { value: u.successes, labels: { upstream: u.name, result: "success" } },
    { value: u.failures, labels: { upstream: u.name, result: "failure" } },
  ]));
  registerSnapshot(registry, "rampart_upstream_retries_total", "Retried attempts to an upstream.", "counter", per((u) => [{ value: u.retries, labels: { upstream: u.name } }]));
  registerSnapshot(registry, "rampart_upstream_timeouts_total", "Upstream attempts cut off by their timeout.", "counter", per((u) => [{ value: u.timeouts, labels: { upstream: u.name } }]));
  registerSnapshot(registry, "rampart_upstream_rejections_total", "Calls refused without reaching the upstream, by reason (breaker_open, bulkhead_full).", "counter", per((u) => [
    { value: u.rejections.breakerOpen, labels: { upstream: u.name, reason: "breaker_open" } },
    { value: u.rejections.bulkheadFull, labels: { upstream: u.name, reason: "bulkhead_full" } },
  ]));
  registerSnapshot(registry, "rampart_upstream_call_duration_seconds", "Duration of whole upstream calls (retries and queueing included).", "histogram", per((u) => latencySamples(u.latency, { upstream: u.name })));
  new Gauge({
    name: "rampart_upstream_breaker_open",
    help: "1 while an upstream's circuit breaker is open (or isolated), else 0.",
    labelNames: ["upstream"],
    aggregator: "max",
    registers: [registry],
    collect() {
      for (const u of upstreams.stats()) this.set({ upstream: u.name }, u.breaker === "open" || u.breaker === "isolated" ? 1 : 0);
    },
  });
}

/**
 * The rate limiter's fall-back to the in-process limiter while Redis is
 * unreachable (failover-store.ts); every series at 0 in embedded mode, which
 * has no shared store to lose.
 */
export function registerRateLimitStoreMetrics(registry: Registry, rateLimit: NonNullable<MetricSources["rateLimit"]>): void {
  const read = (pick: (s: FailoverStats) => number) => () => {
    const f = rateLimit.stats().failover;
    return [{ value: f ? pick(f) : 0 }];
  };
  registerSnapshot(registry, "rampart_rate_limit_fallback_decisions_total", "Rate-limit decisions made by the in-process limiter because Redis was unreachable (RATE_LIMIT_ON_STORE_ERROR=open): each instance limits on its own meanwhile.", "counter", read((f) => f.fallbackDecisions));
  registerSnapshot(registry, "rampart_rate_limit_store_errors_total", "Calls to the shared rate-limit store (Redis) that failed.", "counter", read((f) => f.storeErrors));
  registerSnapshot(registry, "rampart_rate_limit_store_refusals_total", "Requests refused with 503 because Redis was unreachable (RATE_LIMIT_ON_STORE_ERROR=closed).", "counter", read((f) => f.refused));
  new Gauge({
    name: "rampart_rate_limit_store_degraded",
    help: "1 while rate-limit decisions bypass Redis (unreachable), else 0.",
    aggregator: "max",
    registers: [registry],
    collect() {
      this.set(rateLimit.stats().failover?.degraded ? 1 : 0);
    },
  });
}

const REVOCATION_STATES: readonly RevocationState[] = ["synced", "stale", "closed"];

/**
 * The revocation list's freshness (auth/revocation/freshness.ts): `stale`
 * while it answers from this instance's copy because the kv store is
 * unreachable, `closed` once past REVOCATION_STALE_MAX_MS (authenticated
 * requests answer 503).
 */
export function registerRevocationMetrics(registry: Registry, revocations: NonNullable<MetricSources["revocations"]>): void {
  const registers = [registry];
  new Gauge({
    name: "rampart_revocation_list_state",
    help: "1 for the revocation list's current state: synced (exact), stale (kv store unreachable, answering from this instance's copy within REVOCATION_STALE_MAX_MS) or closed (failing closed with 503).",
    labelNames: ["state"],
    aggregator: "max",
    registers,
    collect() {
      const now = revocations.health().state;
      for (const state of REVOCATION_STATES) this.set({ state }, state === now ? 1 : 0);
    },
  });
  new Gauge({
    name: "rampart_revocation_list_sync_age_seconds",
    help: "Seconds since the start of the revocation list's last successful sync with the kv store (+Inf when it never synced).",
    aggregator: "max",
    registers,
    collect() {
      const { syncAgeMs } = revocations.health();
      this.set(syncAgeMs === null ? Infinity : syncAgeMs / 1000);
    },
  });
  new Gauge({
    name: "rampart_revocation_pending_writes",
    help: "Revocations made on this instance while the kv store was unreachable (answered 503, refused here) and not yet written to the kv log.",
    registers,
    collect() {
      this.set(revocations.health().pendingWrites);
    },
  });
}
