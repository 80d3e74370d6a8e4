/**
 * The identity routes in three groups a host app mounts separately (under
 * /v1): the caller's own (auth, email, MFA, profile), API keys, and the
 * administration of users.
 */
import type { FastifyPluginAsync } from "fastify";
import type { Identity } from "../identity.js";
import { authRoutes } from "./auth.js";
import { emailRoutes } from "./email.js";
import { meRoutes } from "./me.js";
import { mfaRoutes } from "./mfa.js";

export interface IdentityRouteOptions {
  identity: Identity;
}

/** Register, login, refresh, sessions, password, email verification, MFA and `/me`. */
export const identityRoutes: FastifyPluginAsync<IdentityRouteOptions> = async (app, { identity }) => {
  // Only the identity is passed on: the caller's options also hold its `prefix`.
  for (const routes of [authRoutes, emailRoutes, mfaRoutes, meRoutes]) await app.register(routes, { identity });
};

export { apiKeyRoutes } from "./api-keys.js";
export { adminRoutes as adminUserRoutes } from "./admin.js";
