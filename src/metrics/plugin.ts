/**
 * Fastify glue of metrics: creates the runtime's metrics for the app,
 * observes every response at the root (route template, never the raw URL),
 * counts refused requests by error code, and serves `GET /metrics` on the
 * main port behind the `metrics-token` bearer secret — unless METRICS_PORT is
 * set, in which case serve.ts exposes them on a loopback listener instead
 * (listener.ts) and the main port has no `/metrics` route at all.
 */
import fp from "fastify-plugin";
import type { FastifyPluginAsync } from "fastify";
import { RampartError } from "../errors/index.js";
import type { MetricSources } from "./sources.js";
import type { Runtime } from "../runtime/index.js";
import { aggregatedByPrimary, scrapeFromPrimary, shareWithPrimary } from "./cluster.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { METRICS_TOKEN_SECRET, metricsTokenMatches } from "./token.js";
import { routeConfigOf } from "../server/plugins/request-context.js";

declare module "fastify" {
  interface FastifyInstance {
    /** The app's metrics; null when METRICS_ENABLED is false. */
    metrics: Metrics | null;
  }
}

export interface MetricsPluginOptions {
  runtime: Runtime;
  /** The password hasher (`app.identity.hasher`): argon2 queue depth and durations. */
  hasher?: MetricSources["hasher"];
  /** An UpstreamRegistry (src/resilience), `runtime.upstreams` in the composed server: upstream calls, breakers, latency. */
  upstreams?: MetricSources["upstreams"];
  /** The app's rate limiting: its fall-back to the in-process limiter while Redis is unreachable. */
  rateLimit?: MetricSources["rateLimit"];
  /** The revocation list (`app.identity.revocations`): its freshness while the kv store is unreachable. */
  revocations?: MetricSources["revocations"];
  /** `false`: collect the metrics (and decorate `app.metrics`) without mounting `GET /metrics` (default true). */
  route?: boolean;
}

/** The path of the exposition endpoint, on the main port and on METRICS_PORT alike. */
export const METRICS_PATH = "/metrics";

const plugin: FastifyPluginAsync<MetricsPluginOptions> = async (app, opts) => {
  const { runtime } = opts;
  const { config } = runtime;
  if (!config.metricsEnabled) {
    app.decorate("metrics", null);
    return;
  }
  const metrics = createMetrics({
    secrets: runtime.secrets,
    db: runtime.db,
    kek: runtime.crypto,
    events: runtime.events,
    audit: runtime.audit,
    ...(opts.hasher ? { hasher: opts.hasher } : {}),
    ...(opts.upstreams ? { upstreams: opts.upstreams } : {}),
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
    ...(opts.revocations ? { revocations: opts.revocations } : {}),
  });
  app.decorate("metrics", metrics);
  app.addHook("onClose", async () => metrics.close());
  // A worker of `rampart serve --workers N` (cluster.ts): the primary merges every worker's registry.
  // Shared until the process exits: the primary asks a stopping worker too, its counts are the instance's until then.
  const aggregated = aggregatedByPrimary();
  if (aggregated) shareWithPrimary(metrics.registry);

  app.addHook("onResponse", (request, reply, done) => {
    metrics.http.observe({
      method: request.method,
      route: routeConfigOf(request).url,
      statusCode: reply.statusCode,
      durationSeconds: reply.elapsedTime / 1000,
    });
    done();
  });
  app.addHook("onError", async (request, _reply, error) => {
    if (!(error instanceof RampartError)) return;
    const rl = routeConfigOf(request).rateLimit;
    const reason = (error as { reason?: unknown }).reason;
    // The limiter names the policy that refused (inline ones too); a RATE_LIMITED thrown elsewhere, the route's.
    const policy = (error as { policy?: unknown }).policy;
    metrics.http.rejected({
      code: error.code,
      ...(error.code === "RATE_LIMITED" ? { policy: typeof policy === "string" ? policy : ((rl ? rl.policy : undefined) ?? "default") } : {}),
      ...(typeof reason === "string" ? { reason } : {}),
    });
  });

  // With METRICS_PORT the loopback listener serves them; the public port does not.
  if (config.metricsPort !== undefined || opts.route === false) return;
  let warned = false;
  app.get(
    METRICS_PATH,
    // Not a product route: Prometheus text, left out of the OpenAPI document; scrapes are not rate limited.
    { schema: { hide: true }, config: { rateLimit: false } },
    async (request, reply) => {
      const expected = await runtime.secrets.getOptional(METRICS_TOKEN_SECRET);
      if (expected === undefined && !warned) {
        warned = true;
        request.log.warn(`GET ${METRICS_PATH} is refused: the secret '${METRICS_TOKEN_SECRET}' is not set (or set METRICS_PORT for a loopback listener)`);
      }
      if (!metricsTokenMatches(request.headers.authorization, expected)) {
        throw new RampartError("UNAUTHENTICATED", { message: "A valid metrics token is required.", headers: { "www-authenticate": 'Bearer realm="metrics"' } });
      }
      let text: string;
      if (!aggregated) text = await metrics.render();
      else {
        try {
          text = await scrapeFromPrimary();
        } catch (err) {
          request.log.error({ err }, "the workers' metrics could not be aggregated");
          throw new RampartError("SERVICE_UNAVAILABLE", { message: "The metrics of this instance could not be gathered; try again." });
        }
      }
      return reply.header("content-type", metrics.contentType).header("cache-control", "no-store").send(text);
    },
  );
};

/**
 * Metrics for the app it is registered on (root hooks). Register it after the
 * request context and errors plugins.
 */
export const metricsPlugin = fp(plugin, { name: "rampart-metrics", fastify: "5.x", dependencies: ["rampart-request-context", "rampart-errors"] });
