/** Every identity route, mounted under /v1 by the auth plugin. */
import type { FastifyPluginAsync } from "fastify";
import type { Identity } from "../identity.js";
import { adminRoutes } from "./admin.js";
import { authRoutes } from "./auth.js";
import { emailRoutes } from "./email.js";
import { meRoutes } from "./me.js";
import { mfaRoutes } from "./mfa.js";

export const identityRoutes: FastifyPluginAsync<{ identity: Identity }> = async (app, { identity }) => {
  // Only the identity is passed on: the caller's options also hold its `prefix`.
  for (const routes of [authRoutes, emailRoutes, mfaRoutes, meRoutes, adminRoutes]) await app.register(routes, { identity });
};
