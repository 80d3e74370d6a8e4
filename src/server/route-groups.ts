/**
 * The route plugins of each route group, with their fastify-plugin metadata:
 * a name, and the plugins whose decorators they need (an app that mounts a
 * group without them fails at start naming the missing plugin). They stay
 * encapsulated, so `prefix` applies; `rampart` mounts them under `/v1`.
 */
import fp from "fastify-plugin";
import { adminUserRoutes as adminUsers, apiKeyRoutes as apiKeys, identityRoutes as identity } from "../auth/routes/index.js";
import { jwksPlugin as jwks } from "../auth/tokens/plugin.js";
import { auditRoutes as audit } from "../audit/routes.js";
import { consolePlugin as consoleApp } from "../console/plugin.js";
import { fileRoutes as files } from "../files/routes.js";
import { gdprRoutes as gdpr } from "../gdpr/routes.js";
import { healthPlugin as health } from "../health/plugin.js";
import { quotaRoutes as quotas } from "../quotas/routes.js";

const meta = (name: string, dependencies: string[] = []) => ({ name, dependencies, fastify: "5.x", encapsulate: true });

/** `/health/live` and `/health/ready`. */
export const healthPlugin = fp(health, meta("rampart-health"));
/** `/.well-known/jwks.json`. */
export const jwksPlugin = fp(jwks, meta("rampart-jwks"));
/** `/auth/*` and `/me` (register, login, sessions, password, email, MFA, profile). */
export const identityRoutes = fp(identity, meta("rampart-identity-routes", ["rampart-auth"]));
/** `/api-keys`. */
export const apiKeyRoutes = fp(apiKeys, meta("rampart-api-key-routes", ["rampart-auth"]));
/** `/admin/users/*`. */
export const adminUserRoutes = fp(adminUsers, meta("rampart-admin-user-routes", ["rampart-auth"]));
/** `/admin/audit`, `/admin/audit/verify`. */
export const auditRoutes = fp(audit, meta("rampart-audit-routes", ["rampart-auth"]));
/** `/me/usage`, `/admin/usage`, `/admin/users/:id/plan`. */
export const quotaRoutes = fp(quotas, meta("rampart-quota-routes", ["rampart-auth", "rampart-quotas"]));
/** `/files`. */
export const fileRoutes = fp(files, meta("rampart-file-routes", ["rampart-auth", "rampart-quotas"]));
/** The web console: `/console` (the built single-page app), `/reset-password` and `/verify-email` leading to it. */
export const consoleRoutes = fp(consoleApp, meta("rampart-console"));
/** `/me/export`, `DELETE /me`, `/me/consents`, `/admin/users/:id/export`, `DELETE /admin/users/:id`. */
export const gdprRoutes = fp(gdpr, meta("rampart-gdpr-routes", ["rampart-auth"]));
