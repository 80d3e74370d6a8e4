/**
 * Public API of upstream resilience: `createUpstream` (timeout, retries with
 * jittered backoff for idempotent calls, circuit breaker, bulkhead, stats),
 * a per-runtime registry of upstreams, and failure classifiers for HTTP and
 * AWS answers.
 */
export { createUpstream, upstreamFailure, UpstreamError, type Upstream, type ExecuteOptions, type UpstreamFailureKind } from "./upstream.js";
export { resolveUpstreamOptions, type UpstreamOptions, type BreakerOptions, type ResolvedUpstreamOptions } from "./options.js";
export { LATENCY_BUCKETS_MS, LatencyHistogram, type UpstreamStats, type LatencyStats, type BreakerState } from "./stats.js";
export { UpstreamRegistry, type UpstreamOverrides } from "./registry.js";
export { isTransientAwsError, isTransientHttpStatus } from "./classify.js";
