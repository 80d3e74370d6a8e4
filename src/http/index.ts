/**
 * Public API of HTTP hardening: security headers, HTTPS enforcement, CORS,
 * request-schema rules, the rich-text sanitizer and the production preflight
 * of these settings. Framework-free: their Fastify plugins are
 * `rampart/http/plugin`.
 */
export { API_CSP_DIRECTIVES, docsCspDirectives, HSTS_MIN_PRODUCTION_SECONDS, isJsonContentType, securityHeaderBlock, securityHeaderSettings, serializeCsp, type RouteCsp, type SecurityHeaderSettings } from "./headers.js";
export { httpsEnforcement, httpsLocation, plainHttpDecision, type HttpsEnforcement, type PlainHttpDecision } from "./https.js";
export { ANY_ORIGIN, corsOrigins, parseOrigin } from "./cors-origins.js";
export { allowedOrigin, corsPolicyFromConfig, CorsConfigError, CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, CORS_METHODS, type CorsPolicy } from "./cors.js";
export { DEFAULT_MAX_LENGTH, MAX_ITEMS, requestSchemaViolations, type SchemaResolver, type SchemaViolation } from "./schema-rules.js";
export { sanitizeRichText, RICH_TEXT_LINK_REL, RICH_TEXT_LINK_SCHEMES, RICH_TEXT_TAGS } from "./sanitize.js";
export { httpPreflight, type ConfigProblem, type HttpPreflightConfig } from "./preflight.js";
