/** Public API of the server composition: the `rampart` plugin, its parts, and the standalone app. */
export { rampart, type RampartApi } from "./rampart.js";
export { resolveRoutes, DEFAULT_ROUTES, ALL_ROUTES, type RampartOptions, type RampartRoutes } from "./options.js";
export { rampartServerOptions, type ServerOptionsSource } from "./server-options.js";
export { buildApp, type BuildAppOptions, type RampartApp } from "./app.js";
export { serve, type RunningServer, type ServeOptions } from "./serve.js";
export { ok, Envelope, ErrorEnvelopeSchema } from "./envelope.js";
export { errorsPlugin, sendError, mapError, wantsProblem, type ErrorsPluginOptions } from "./plugins/errors.js";
export { requestContextPlugin, traceIdOf, traceIdRequestId } from "./plugins/request-context.js";
export { accessLogPlugin } from "./plugins/access-log.js";
export { wellFormedTextPlugin } from "./plugins/well-formed-text.js";
export { healthPlugin, jwksPlugin, identityRoutes, apiKeyRoutes, adminUserRoutes, auditRoutes, quotaRoutes, fileRoutes, gdprRoutes } from "./route-groups.js";
export { registerOpenApi } from "./openapi.js";
export { rawErrorHandlers, type HeaderBlock, type RawErrorHandlers } from "./raw-errors.js";
export { RouteSchemaError } from "./route-schemas.js";
