/**
 * The metrics of one runtime: a prom-client Registry of its own (never the
 * process-wide default one, so two runtimes in one process never mix their
 * numbers), the process and event-loop defaults, the HTTP and security-event
 * counters, and the stats other modules keep, read at scrape time.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import type { SecurityEvents } from "../events/index.js";
import { registerAuditMetrics, type AuditMetricSource } from "./audit.js";
import { HttpMetrics } from "./http.js";
import { SecurityEventMetrics } from "./security.js";
import { registerHasherMetrics, registerKmsMetrics, registerPoolMetrics, registerRateLimitStoreMetrics, registerRevocationMetrics, registerSecretsMetrics, registerUpstreamMetrics, type MetricSources } from "./sources.js";

export interface MetricsOptions extends MetricSources {
  /** The runtime's security events; counted from creation until close(). */
  events?: Pick<SecurityEvents, "on"> & Partial<Pick<SecurityEvents, "names" | "catalogue">>;
  /** The audit log (`runtime.audit`): chain head and verification; its audited events are counted through `events.catalogue`. */
  audit?: AuditMetricSource;
  /** Process and event-loop metrics from prom-client (default true). */
  defaultMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  readonly http: HttpMetrics;
  readonly security: SecurityEventMetrics;
  /** The Prometheus text exposition content type. */
  readonly contentType: string;
  /** The exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string>;
  /** Stops counting security events. */
  close(): void;
}

/**
 * Creates the metrics of one runtime.
 *
 * @example
 * const metrics = createMetrics({ secrets: runtime.secrets, db: runtime.db, kek: runtime.crypto, events: runtime.events });
 * const text = await metrics.render();
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  // prom-client starts an event-loop delay monitor and a GC observer for each registry; it offers no way to stop them.
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const http = new HttpMetrics(registry);
  const events = options.events;
  const security = events?.names ? new SecurityEventMetrics(registry, () => events.names!()) : new SecurityEventMetrics(registry);
  registerSecretsMetrics(registry, options.secrets);
  registerPoolMetrics(registry, options.db);
  if (options.kek) registerKmsMetrics(registry, options.kek);
  if (options.hasher) registerHasherMetrics(registry, options.hasher);
  if (options.upstreams) registerUpstreamMetrics(registry, options.upstreams);
  if (options.rateLimit) registerRateLimitStoreMetrics(registry, options.rateLimit);
  if (options.revocations) registerRevocationMetrics(registry, options.revocations);
  const catalogue = events?.catalogue;
  const audit = options.audit ? registerAuditMetrics(registry, options.audit, (name) => catalogue?.has(name) === true && catalogue.spec(name).audit) : undefined;
  const unsubscribe = options.events
    ? options.events.on((e) => {
        security.count(e.name);
        audit?.event(e.name);
      })
    : undefined;
  return {
    registry,
    http,
    security,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close: () => unsubscribe?.(),
  };
}
