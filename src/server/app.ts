/**
 * Builds the Fastify application for a runtime: plugins in their order
 * (context → logging → errors → docs → health → API), shared by `rampart
 * serve`, the tests and host applications that embed the server.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { authPlugin } from "../auth/plugin.js";
import type { IdentityOptions } from "../auth/identity.js";
import { identityRoutes } from "../auth/routes/index.js";
import { jwksPlugin } from "../auth/tokens/plugin.js";
import { createRateLimiting } from "../ratelimit/index.js";
import { rateLimitPlugin } from "../ratelimit/plugin.js";
import { auditRoutes } from "../audit/routes.js";
import { createFiles, fileRoutes, type BlobStore } from "../files/index.js";
import { gdprRoutes } from "../gdpr/index.js";
import { resolveTraceId } from "../context/index.js";
import { healthPlugin } from "../health/plugin.js";
import { metricsPlugin } from "../metrics/plugin.js";
import { securityHeaderBlock } from "../http/headers.js";
import { httpProtectionsOptions, httpProtectionsPlugin } from "../http/plugin.js";
import { quotaPlugin, quotaRoutes } from "../quotas/index.js";
import type { Runtime } from "../runtime/index.js";
import { idempotencyPlugin } from "../idempotency/plugin.js";
import { VERSION } from "../version.js";
import { webhookRoutes } from "../webhooks/routes.js";
import { accessLogPlugin } from "./plugins/access-log.js";
import { errorsPlugin } from "./plugins/errors.js";
import { trackInflight } from "./plugins/inflight.js";
import { requestContextPlugin } from "./plugins/request-context.js";
import { wellFormedTextPlugin } from "./plugins/well-formed-text.js";
import { rawErrorHandlers } from "./raw-errors.js";
import { registerOpenApi } from "./openapi.js";
import { checkRouteSchemas } from "./route-schemas.js";
import { schemaController } from "./validation.js";

export type RampartApp = FastifyInstance;

export interface BuildAppOptions {
  /** Extra routes or plugins, registered after the built-in ones (tests, host apps). */
  configure?: (app: FastifyInstance) => unknown;
  /** Identity options (tests pass a faster password hasher). */
  identity?: IdentityOptions;
  /** Set false when the caller registers rate limiting itself (tests of the limiter). */
  rateLimiting?: false;
  /** The upload blob store (else one on RAMPART_FILES_DIR; tests inject faults through it). */
  blobStore?: BlobStore;
}

export async function buildApp(runtime: Runtime, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config, log } = runtime;
  const protections = httpProtectionsOptions(config);
  // Computed once: answers written outside the hooks carry the same security headers as routed ones.
  const securityHeaders = securityHeaderBlock(protections.headers);
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // Fastify's own request lines are replaced by the access-log plugin.
    logController: new LogController({ disableRequestLogging: true }),
    // One logger per runtime; the trace id comes from the request context mixin.
    childLoggerFactory: (logger) => logger,
    genReqId: (req) => resolveTraceId(req.headers.traceparent, req.headers["x-request-id"]),
    requestIdHeader: false,
    // A hop count is accepted by Fastify (proxy-addr) though its types omit it.
    trustProxy: config.trustProxy as boolean | string[],
    bodyLimit: config.bodyLimitBytes,
    // Refused by the errors plugin instead, with the envelope and the security headers.
    return503OnClosing: false,
    // Malformed URLs and requests Node cannot parse: the envelope, never the raw input (raw-errors.ts).
    ...rawErrorHandlers(securityHeaders, log),
    forceCloseConnections: "idle",
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    schemaController,
    ajv: { customOptions: { removeAdditional: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // First, so every route's context inherits the counting hooks (plugins/inflight.ts).
  const inflight = trackInflight(app, config.shutdownTimeoutMs);
  // JSON only: without this, text/plain bodies would reach JSON routes as strings.
  app.removeContentTypeParser(["text/plain"]);
  // Strict UTF-8 JSON bodies and query strings, before any route scope copies the parsers.
  await app.register(wellFormedTextPlugin);

  app.addHook("onRoute", checkRouteSchemas);
  await app.register(requestContextPlugin);
  await app.register(accessLogPlugin, { log });
  await app.register(errorsPlugin, { log, securityHeaders });
  // --- protections on every response (headers, CORS, HTTPS) ---
  await app.register(httpProtectionsPlugin, protections);
  // --- end protections ---
  await registerOpenApi(app, { version: VERSION, publicUrl: config.publicUrl });
  await app.register(healthPlugin, { checks: runtime.healthChecks, timeoutMs: config.healthCheckTimeoutMs, log, version: VERSION });
  // Order: the principal is resolved (auth hook) before rate limiting keys on it,
  // and the routes come after both so the limiter checks their policies at start.
  await app.register(authPlugin, { runtime, ...(options.identity ? { identity: options.identity } : {}) });
  if (options.rateLimiting !== false) await registerRateLimiting(app, runtime);
  await app.register(jwksPlugin, { tokens: app.identity.tokens });
  await app.register(identityRoutes, { prefix: "/v1", identity: app.identity });
  // --- capability routes (one register line each) ---
  await app.register(auditRoutes, { prefix: "/v1", runtime });
  // Quotas: counts api.requests on every authenticated request (root onRequest hook, 404s included; after auth and rate limiting).
  await app.register(quotaPlugin, { runtime });
  await app.register(quotaRoutes, { prefix: "/v1", quotas: app.quotas });
  const files = await createFiles(runtime, app.quotas, options.blobStore);
  await app.register(fileRoutes, { prefix: "/v1", runtime, quotas: app.quotas, files });
  await app.register(gdprRoutes, { prefix: "/v1", runtime, identity: app.identity, files });
  await app.register(metricsPlugin, { runtime, hasher: app.identity.hasher, upstreams: runtime.upstreams }); // Metrics: root onResponse/onError hooks, GET /metrics (src/metrics).
  await app.register(webhookRoutes, { runtime });
  // Idempotency-Key on routes with config.idempotent (root preHandler/onSend; applies to the identity routes above too).
  await app.register(idempotencyPlugin, { runtime });
  // --- end capability routes ---
  if (options.configure) await options.configure(app);
  // Last: onClose hooks run last-registered first, so requests still running finish before anything closes.
  inflight.drainOnClose();
  return app;
}

/** Rate limiting on every route (404s included) except the health probes, which load balancers poll. */
async function registerRateLimiting(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const rl = createRateLimiting(runtime);
  if (!rl.enabled) return;
  runtime.healthChecks.push(rl.healthCheck);
  app.addHook("onClose", async () => {
    const i = runtime.healthChecks.indexOf(rl.healthCheck);
    if (i >= 0) runtime.healthChecks.splice(i, 1);
    await rl.close();
  });
  await app.register(rateLimitPlugin, { limiter: rl.limiter, enabled: true, skip: (r) => r.url.startsWith("/health/") });
}
