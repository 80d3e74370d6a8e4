/**
 * HTTP metrics: the request-duration histogram and the counters of refused
 * requests (rate limit, quota, webhook signature, and every error code).
 * Labels are bounded by construction: the route template, never the raw URL
 * (which carries ids and emails); a known method or `OTHER`; the status code;
 * a catalogue error code. The Fastify glue (plugin.ts) feeds these.
 */
import { Counter, Histogram, type Registry } from "prom-client";
import { errorCatalogue, type AnyErrorCode } from "../errors/index.js";

/** The route label of requests that matched no route (404s, scans): one series, whatever the path. */
export const NOT_FOUND_ROUTE = "__not_found__";

/** Seconds; from a cached read (5 ms) to a slow upstream (10 s). */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** One finished request as the histogram sees it. */
export interface HttpObservation {
  method: string;
  /** The route template (`/v1/api-keys/:id`); undefined when no route matched. */
  route: string | undefined;
  statusCode: number;
  durationSeconds: number;
}

/** A refused request, as far as the counters care. */
export interface HttpRejection {
  /** A built-in code or one of the app's catalogue. */
  code: AnyErrorCode;
  /** The rate-limit policy of the route (for RATE_LIMITED). */
  policy?: string;
  /** The webhook failure reason (for WEBHOOK_SIGNATURE_INVALID). */
  reason?: string;
}

export class HttpMetrics {
  private readonly duration: Histogram<"method" | "route" | "status_code">;
  private readonly errors: Counter<"code">;
  private readonly rateLimited: Counter<"policy">;
  private readonly quota: Counter;
  private readonly webhook: Counter<"reason">;
  private readonly series = new Map<string, { observe(value: number): void }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.duration = new Histogram({
      name: "http_server_request_duration_seconds",
      help: "Duration of HTTP requests by method, route template and status code.",
      labelNames: ["method", "route", "status_code"],
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    });
    this.errors = new Counter({ name: "rampart_http_errors_total", help: "Error responses by catalogue code.", labelNames: ["code"], registers });
    this.rateLimited = new Counter({ name: "rampart_rate_limit_rejections_total", help: "Requests refused with 429 RATE_LIMITED, by rate-limit policy.", labelNames: ["policy"], registers });
    this.quota = new Counter({ name: "rampart_quota_rejections_total", help: "Requests refused with 429 QUOTA_EXCEEDED.", registers });
    this.webhook = new Counter({ name: "rampart_webhook_verification_failures_total", help: "Webhook deliveries refused because their signature did not verify, by reason.", labelNames: ["reason"], registers });
    // Present from the first scrape, so rate() and alerts see a 0 rather than no series.
    for (const code of Object.keys(errorCatalogue)) this.errors.inc({ code }, 0);
    this.quota.inc(0);
  }

  observe(o: HttpObservation): void {
    const method = METHODS.has(o.method) ? o.method : "OTHER";
    const route = o.route ?? NOT_FOUND_ROUTE;
    // prom-client hashes the label object on every observe; the series of a (method, route,
    // status) is looked up here by one string instead. Bounded: the labels are bounded.
    const key = `${method} ${o.statusCode} ${route}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = this.duration.labels({ method, route, status_code: String(o.statusCode) });
      this.series.set(key, series);
    }
    series.observe(o.durationSeconds);
  }

  rejected(r: HttpRejection): void {
    this.errors.inc({ code: r.code });
    if (r.code === "RATE_LIMITED") this.rateLimited.inc({ policy: r.policy ?? "default" });
    else if (r.code === "QUOTA_EXCEEDED") this.quota.inc();
    else if (r.code === "WEBHOOK_SIGNATURE_INVALID") this.webhook.inc({ reason: r.reason ?? "unknown" });
  }
}
