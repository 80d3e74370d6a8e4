/** Routes: user administration (permission-guarded). */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import { Envelope, ok } from "../../server/envelope.js";
import type { Identity } from "../identity.js";
import { disableUser, listUsers, revokeUserSessions, setRoles, unlockUser } from "../flows/admin.js";
import { guard, principalOf } from "../plugin.js";
import { AdminUser, Email, IdParams, PublicUser } from "../schemas.js";

const tags = ["admin"];
const security = [{ bearer: [] }];

export const adminRoutes: FastifyPluginAsync<{ identity: Identity }> = async (app, { identity }) => {
  app.get(
    "/admin/users",
    {
      preHandler: guard("users:read"),
      schema: {
        tags,
        security,
        summary: "List users; `email` is an exact match through the blind index",
        querystring: Type.Object({ email: Type.Optional(Email), cursor: Type.Optional(Type.String({ maxLength: 200 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }, { additionalProperties: false }),
        response: { 200: Envelope(Type.Object({ users: Type.Array(AdminUser), nextCursor: Type.Union([Type.String(), Type.Null()]) })) },
      },
    },
    async (request) => ok(request, await listUsers(identity, request.query as { email?: string; cursor?: string; limit?: number })),
  );
  app.post(
    "/admin/users/:id/unlock",
    { config: { noBody: true }, preHandler: guard("users:unlock"), schema: { tags, security, summary: "Clear a login lockout", params: IdParams, response: { 200: Envelope(Type.Object({ wasLocked: Type.Boolean() })) } } },
    async (request) => ok(request, await unlockUser(identity, principalOf(request).userId, (request.params as { id: string }).id)),
  );
  app.post(
    "/admin/users/:id/disable",
    { config: { noBody: true }, preHandler: guard("users:disable"), schema: { tags, security, summary: "Disable an account and end its sessions", params: IdParams, response: { 200: Envelope(Type.Object({ sessionsRevoked: Type.Integer() })) } } },
    async (request) => ok(request, await disableUser(identity, principalOf(request).userId, (request.params as { id: string }).id)),
  );
  app.put(
    "/admin/users/:id/roles",
    {
      preHandler: guard("users:roles"),
      schema: { tags, security, summary: "Replace a user's roles (ends their sessions)", params: IdParams, body: Type.Object({ roles: Type.Array(Type.String({ maxLength: 50 }), { minItems: 1, maxItems: 10 }) }, { additionalProperties: false }), response: { 200: Envelope(Type.Object({ user: PublicUser })) } },
    },
    async (request) => {
      const user = await setRoles(identity, principalOf(request).userId, (request.params as { id: string }).id, (request.body as { roles: string[] }).roles);
      return ok(request, { user: { id: user.id, email: user.email, name: user.name, roles: user.roles, mfaEnabled: user.mfaEnabled, createdAt: user.createdAt } });
    },
  );
  app.delete(
    "/admin/users/:id/sessions",
    { preHandler: guard("users:sessions"), schema: { tags, security, summary: "End every session of a user", params: IdParams, response: { 200: Envelope(Type.Object({ sessionsRevoked: Type.Integer() })) } } },
    async (request) => ok(request, await revokeUserSessions(identity, principalOf(request).userId, (request.params as { id: string }).id)),
  );
};
