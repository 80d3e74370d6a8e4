/**
 * The `rampart` plugin: everything Rampart adds to a Fastify app, on any
 * Fastify 5 instance, in the order the pieces depend on each other —
 * request context → errors → security headers, HTTPS and CORS → compression → OpenAPI →
 * health → authentication → rate limits → the enabled route groups → quotas →
 * metrics → idempotency. `buildApp` (and so `rampart serve`) is this plugin
 * with every route group on, on an instance built with `rampartServerOptions`.
 */
import fp from "fastify-plugin";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { authPlugin, guard, principalOf } from "../auth/plugin.js";
import type { Identity } from "../auth/identity.js";
import type { PermissionRegistry } from "../auth/permissions.js";
import { createErrorCatalogue, type ErrorCatalogue } from "../errors/registry.js";
import type { SecurityEvents } from "../events/emitter.js";
import { loadConfig, type Config } from "../config/index.js";
import { createFiles } from "../files/index.js";
import { securityHeaderBlock } from "../http/headers.js";
import { compressionOptions } from "../http/compress.js";
import { httpProtectionsOptions, httpProtectionsPlugin } from "../http/plugin.js";
import { idempotencyPlugin } from "../idempotency/plugin.js";
import { metricsPlugin } from "../metrics/plugin.js";
import { quotaPlugin, type Quotas } from "../quotas/index.js";
import { createRateLimiting, type AppRateLimitOptions, type RateLimiting } from "../ratelimit/index.js";
import { rateLimitPlugin } from "../ratelimit/plugin.js";
import { createRuntime, type Runtime } from "../runtime/index.js";
import { VERSION } from "../version.js";
import { webhookRoutes } from "../webhooks/routes.js";
import { registerOpenApi } from "./openapi.js";
import { resolveRoutes, type RampartOptions, type RampartRoutes } from "./options.js";
import { accessLogPlugin } from "./plugins/access-log.js";
import { compressionPlugin } from "./plugins/compression.js";
import { errorsPlugin } from "./plugins/errors.js";
import { trackInflight } from "./plugins/inflight.js";
import { requestContextPlugin } from "./plugins/request-context.js";
import { wellFormedTextPlugin } from "./plugins/well-formed-text.js";
import { adminUserRoutes, apiKeyRoutes, auditRoutes, consoleRoutes, fileRoutes, gdprRoutes, healthPlugin, identityRoutes, jwksPlugin, quotaRoutes } from "./route-groups.js";
import { checkRouteSchemas } from "./route-schemas.js";

/** What the plugin decorates the app with (`app.rampart`). */
export interface RampartApi {
  /** The runtime: config, database, kv, keyring, secrets, events, audit log, logger. */
  readonly runtime: Runtime;
  readonly config: Config;
  readonly identity: Identity;
  /** A preHandler requiring an authenticated principal holding every listed permission. */
  readonly guard: typeof guard;
  /** The request's principal; throws the 401 envelope when there is none. */
  readonly principalOf: typeof principalOf;
  readonly quotas: Quotas;
  /** Permissions and roles, built-in and the app's (`identity.permissions`). */
  readonly permissions: PermissionRegistry;
  /** Security events, built-in and the app's (`runtime.events`; `events.catalogue` is the table). */
  readonly events: SecurityEvents;
  /** Error codes, built-in and the app's. */
  readonly errors: ErrorCatalogue;
}

declare module "fastify" {
  interface FastifyInstance {
    rampart: RampartApi;
  }
}

const plugin: FastifyPluginAsync<RampartOptions> = async (app, options) => {
  const routes = resolveRoutes(options.routes);
  if (options.runtime) {
    // A runtime exists only once its schema is prepared: the app's migrations belong to its createRuntime call.
    if (options.migrations) throw new TypeError("rampart: options.migrations run when the plugin builds the runtime; with options.runtime, pass them to createRuntime(config, { migrations }) instead");
    for (const key of ["kekProviders", "secretsProviders"] as const) {
      if (options[key]) throw new TypeError(`rampart: options.${key} belong to the runtime; with options.runtime, pass them to createRuntime(config, { ${key} }) instead`);
    }
    return compose(app, options.runtime, routes, options);
  }
  // Built here, so closed here: after every other onClose hook (they run last-registered first).
  const runtime = await withSlowStartHint(
    app,
    createRuntime(options.config ?? loadConfig(process.env), {
      ...(options.kekProviders ? { kekProviders: options.kekProviders } : {}),
      ...(options.secretsProviders ? { secretsProviders: options.secretsProviders } : {}),
      ...(options.migrations ? { migrations: options.migrations } : {}),
    }),
  );
  let closing: Promise<void> | undefined;
  const closeRuntime = () => (closing ??= runtime.close());
  app.addHook("onClose", closeRuntime);
  try {
    await compose(app, runtime, routes, options);
  } catch (err) {
    await closeRuntime();
    throw err;
  }
};

/**
 * Fastify fails a plugin that has not loaded within `pluginTimeout` (10 s by
 * default) with a message about a forgotten `done`; the first start on an
 * empty embedded database (initdb and every migration) can take longer. Say
 * what is slow and what to do before that happens.
 */
async function withSlowStartHint<T>(app: FastifyInstance, building: Promise<T>): Promise<T> {
  const limit = app.initialConfig.pluginTimeout ?? 10_000;
  if (!(limit > 0)) return building;
  const timer = setTimeout(() => {
    process.emitWarning(
      `rampart: building the runtime (database start and migrations) has taken ${Math.round((limit * 0.8) / 1000)} s of Fastify's pluginTimeout of ${limit} ms. ` +
        "Pass Fastify({ pluginTimeout: 60_000 }), or build the runtime first with createRuntime() and register rampart with { runtime }.",
      { code: "RAMPART_SLOW_START" },
    );
  }, limit * 0.8);
  timer.unref();
  try {
    return await building;
  } finally {
    clearTimeout(timer);
  }
}

async function compose(app: FastifyInstance, runtime: Runtime, routes: Required<RampartRoutes>, options: RampartOptions): Promise<void> {
  const { config, log } = runtime;
  const protections = httpProtectionsOptions(config);
  // Computed once: answers written outside the hooks carry the same security headers as routed ones.
  const securityHeaders = securityHeaderBlock(protections.headers);

  // First, so every route's context inherits the counting hooks (plugins/inflight.ts).
  const inflight = trackInflight(app, config.shutdownTimeoutMs);
  // JSON only: without this, text/plain bodies would reach JSON routes as strings.
  app.removeContentTypeParser(["text/plain"]);
  // Strict UTF-8 JSON bodies and query strings, before any route scope copies the parsers.
  await app.register(wellFormedTextPlugin);
  app.addHook("onRoute", checkRouteSchemas);
  await app.register(requestContextPlugin);
  await app.register(accessLogPlugin, { log });
  // The app's names are validated before any route is added: a bad one fails the start, naming it.
  const errors = createErrorCatalogue(options.errors);
  if (options.events) runtime.events.define(options.events);
  await app.register(errorsPlugin, { log, securityHeaders, catalogue: errors });
  await app.register(httpProtectionsPlugin, protections);
  // Before any route: only routes declared `config: { compress: true }` are compressed (BREACH: http/compress.ts).
  await app.register(compressionPlugin, compressionOptions(config));
  // Before the routes: the document is collected as they are registered.
  if (routes.openapi) {
    const ui = typeof routes.openapi === "object" ? routes.openapi.ui !== false : true;
    const limited = options.rateLimiting !== false && config.rateLimitEnabled;
    await registerOpenApi(app, { version: VERSION, publicUrl: config.publicUrl, ui, rateLimited: (route) => limited && route.config?.rateLimit !== false && !isProbe(route.url) });
  }
  await app.register(healthPlugin, { checks: runtime.healthChecks, timeoutMs: config.healthCheckTimeoutMs, log, version: VERSION });
  // The principal is resolved (auth hook) before rate limiting keys on it, and
  // the routes come after both so the limiter checks their policies at start.
  const identityOptions = {
    ...options.identity,
    ...(options.permissions ? { permissions: options.permissions } : {}),
    ...(options.roles ? { roles: options.roles } : {}),
  };
  await app.register(authPlugin, { runtime, identity: identityOptions });
  const rateLimiting = options.rateLimiting !== false ? await registerRateLimiting(app, runtime, options.rateLimit?.policies) : undefined;
  const identity = app.identity;

  if (routes.identity) {
    await app.register(jwksPlugin, { tokens: identity.tokens });
    await app.register(identityRoutes, { prefix: "/v1", identity });
  }
  if (routes.apiKeys) await app.register(apiKeyRoutes, { prefix: "/v1", identity });
  if (routes.admin) await app.register(adminUserRoutes, { prefix: "/v1", identity });
  if (routes.audit) await app.register(auditRoutes, { prefix: "/v1", runtime });
  // Counts api.requests on every authenticated request (root onRequest hook, 404s included).
  await app.register(quotaPlugin, { runtime, ...(options.quotas?.meters ? { meters: options.quotas.meters } : {}) });
  if (routes.quotas) await app.register(quotaRoutes, { prefix: "/v1", quotas: app.quotas });
  // The GDPR export holds the user's files, so it needs the file service even without the file routes.
  const files = routes.files || routes.gdpr ? await createFiles(runtime, app.quotas, options.blobStore) : undefined;
  if (routes.files && files) await app.register(fileRoutes, { prefix: "/v1", runtime, quotas: app.quotas, files });
  if (routes.gdpr && files) await app.register(gdprRoutes, { prefix: "/v1", runtime, identity, files });
  // Collected whatever the route groups (root onResponse/onError hooks); `GET /metrics` only with its group.
  await app.register(metricsPlugin, { runtime, hasher: identity.hasher, upstreams: runtime.upstreams, revocations: identity.revocations, ...(rateLimiting ? { rateLimit: rateLimiting } : {}), route: routes.metrics });
  if (routes.webhooks) await app.register(webhookRoutes, { runtime });
  if (routes.console) await app.register(consoleRoutes);
  // Idempotency-Key on routes with config.idempotent (root preHandler/onSend), the app's own routes included.
  await app.register(idempotencyPlugin, { runtime });

  const api: RampartApi = { runtime, config, identity, guard, principalOf, quotas: app.quotas, permissions: identity.permissions, events: runtime.events, errors };
  app.decorate("rampart", api);
  // Last: onClose hooks run last-registered first, so requests still running finish before anything closes.
  inflight.drainOnClose();
}

/** The health probes, which load balancers poll: never rate limited. */
const isProbe = (url: string) => url.startsWith("/health/");

/** Rate limiting on every route (404s included) except the health probes. */
async function registerRateLimiting(app: FastifyInstance, runtime: Runtime, policies?: AppRateLimitOptions["policies"]): Promise<RateLimiting | undefined> {
  const rl = createRateLimiting(runtime, policies);
  if (!rl.enabled) return undefined;
  runtime.healthChecks.push(rl.healthCheck);
  app.addHook("onClose", async () => {
    const i = runtime.healthChecks.indexOf(rl.healthCheck);
    if (i >= 0) runtime.healthChecks.splice(i, 1);
    await rl.close();
  });
  await app.register(rateLimitPlugin, { limiter: rl.limiter, enabled: true, skip: (r) => isProbe(r.url) });
  return rl;
}

/**
 * Rampart in a Fastify app: `await app.register(rampart, options)`. See
 * `RampartOptions`; pass the instance `rampartServerOptions(runtime)` for the
 * hardening only constructor options can give.
 */
export const rampart = fp(plugin, { name: "rampart", fastify: "5.x" });
