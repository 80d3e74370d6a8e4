/**
 * Rampart's root entry point: the pieces a host application composes. Each
 * capability is also importable on its own (`rampart/config`, `rampart/kv`, ...).
 */
export { loadConfig, ConfigError, type Config } from "./config/index.js";
export { createRuntime, prepareSchema, ManualClock, systemClock, type Runtime, type RuntimeOptions, type Clock } from "./runtime/index.js";
export { RampartError, errorCatalogue, type ErrorCode } from "./errors/index.js";
// Extension points: the app's own permissions, roles, events and error codes (typed by augmenting these interfaces).
export { PermissionRegistry, PermissionConfigError, type AppPermissions, type Permission, type PermissionOptions } from "./auth/permissions.js";
export { SecurityEvents, EventRegistry, EventConfigError, type AppEvents, type AppEventSpec, type SecurityEventName } from "./events/index.js";
export { createErrorCatalogue, ErrorCatalogueError, type AppErrorCodes, type AppErrorSpec, type AnyErrorCode, type ErrorCatalogue } from "./errors/index.js";
// ... rate-limit policies, quota meters (typed by augmenting AppMeters) and the app's migrations (run with Rampart's under one lock).
export { defineAppPolicy, inlinePolicyName, type AppRateLimitOptions, type PolicyInput, type RateLimitPolicy } from "./ratelimit/index.js";
export { resolveMeters, type AppMeters, type AppQuotaOptions, type Meter, type QuotaHolder } from "./quotas/index.js";
export { migrateToLatest, pendingMigrations, pendingAppMigrations, type AppMigrations, type MigrationOutcome } from "./db/index.js";
// ... and the same extensions as one module for the `rampart` CLI (RAMPART_EXTENSIONS).
export { defineExtensions, type RampartExtensions } from "./cli/extensions.js";
export { currentContext, traceHeaders, type RequestContext } from "./context/index.js";
export { rampart, type RampartApi } from "./server/rampart.js";
export { DEFAULT_ROUTES, ALL_ROUTES, type RampartOptions, type RampartRoutes } from "./server/options.js";
export { rampartServerOptions, type ServerOptionsSource } from "./server/server-options.js";
export { buildApp, type BuildAppOptions, type RampartApp } from "./server/app.js";
export { serve, type RunningServer, type ServeOptions } from "./server/serve.js";
export { ok, Envelope, ErrorEnvelopeSchema } from "./server/envelope.js";
// The plugins `rampart` is made of, each usable alone (fastify-plugin names and dependencies declared).
export { requestContextPlugin, traceIdOf, traceIdRequestId } from "./server/plugins/request-context.js";
export { wellFormedTextPlugin } from "./server/plugins/well-formed-text.js";
export { errorsPlugin, type ErrorsPluginOptions } from "./server/plugins/errors.js";
export { accessLogPlugin } from "./server/plugins/access-log.js";
export { compressionPlugin, type CompressionPluginOptions } from "./server/plugins/compression.js";
export {
  httpProtectionsPlugin,
  httpProtectionsOptions,
  securityHeadersPlugin,
  httpsPlugin,
  corsPlugin,
  type HttpProtectionsOptions,
  type SecurityHeadersPluginOptions,
  type HttpsPluginOptions,
  type CorsPluginOptions,
} from "./http/plugin.js";
export { rateLimitPlugin, type RateLimitPluginOptions, type RateLimitRouteConfig } from "./ratelimit/plugin.js";
export { createRateLimiting, RateLimiter, type RateLimiting } from "./ratelimit/index.js";
export { authPlugin, guard, principalOf, type AuthPluginOptions } from "./auth/plugin.js";
export type { Principal } from "./auth/principal.js";
export type { Identity, IdentityOptions } from "./auth/identity.js";
export { quotaPlugin, type QuotaPluginOptions, type Quotas } from "./quotas/index.js";
export { metricsPlugin, type MetricsPluginOptions } from "./metrics/plugin.js";
export { idempotencyPlugin } from "./idempotency/plugin.js";
export { webhookRoutes, type WebhookRoutesOptions } from "./webhooks/routes.js";
export { registerOpenApi } from "./server/openapi.js";
export { healthPlugin, jwksPlugin, identityRoutes, apiKeyRoutes, adminUserRoutes, auditRoutes, quotaRoutes, fileRoutes, gdprRoutes } from "./server/route-groups.js";
export { createFiles, BlobStore } from "./files/index.js";
export type { KvStore } from "./kv/index.js";
export type { Database } from "./db/index.js";
export { VERSION } from "./version.js";
