/**
 * Public API of metrics (`rampart/metrics`): a prom-client registry per
 * runtime with HTTP, security-event, secrets, KMS, argon2, database-pool,
 * upstream and process metrics; the loopback listener of METRICS_PORT; the
 * aggregation of a cluster's workers (cluster.ts).
 * docs/metrics.md lists every metric. Framework-free: the Fastify plugin
 * that serves `/metrics` is `rampart/metrics/plugin`.
 */
export { createMetrics, type Metrics, type MetricsOptions } from "./metrics.js";
export { HttpMetrics, NOT_FOUND_ROUTE, HTTP_DURATION_BUCKETS, type HttpObservation, type HttpRejection } from "./http.js";
export { SecurityEventMetrics } from "./security.js";
export type { MetricSources } from "./sources.js";
export { SnapshotMetric, registerSnapshot, latencySamples, durationSamples, type Sample, type SnapshotType, type Labels } from "./snapshot-metric.js";
export { METRICS_TOKEN_SECRET, metricsTokenMatches, bearerToken } from "./token.js";
export { startMetricsListener, METRICS_HOST, type MetricsListener, type MetricsListenerOptions } from "./listener.js";
export { ClusterMetrics, aggregatedByPrimary, CLUSTER_METRICS_ENV } from "./cluster.js";
