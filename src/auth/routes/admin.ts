/** Routes: user administration (permission-guarded). */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { Envelope, ok } from "../../server/envelope.js";
import type { Identity } from "../identity.js";
import { disableUser, listUsers, revokeUserSessions, setRoles, unlockUser } from "../flows/admin.js";
import { publicUser } from "../flows/common.js";
import { guard, principalOf } from "../plugin.js";
import { AdminUser, Code, Email, IdParams, Password, PublicUser } from "../schemas.js";

const tags = ["admin"];
const security = [{ bearer: [] }];
// Asked only when an admin acts on their own account (re-authentication); ignored otherwise.
const selfProof = { password: Type.Optional(Password), code: Type.Optional(Code) };
const ProofBody = Type.Object(selfProof, { additionalProperties: false, description: "On the caller's own account: `password`, and `code` when MFA is on." });
type Proof = { password?: string; code?: string };
const proofOf = (body: unknown): Proof => (body ?? {}) as Proof;
// These actions usually come without a body; an absent one is the empty proof.
const noBodyIsEmpty = async (request: FastifyRequest): Promise<void> => {
  if (request.body === undefined || request.body === null) request.body = {};
};

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
    { preValidation: noBodyIsEmpty, preHandler: guard("users:unlock"), schema: { tags, security, summary: "Clear a login lockout and a second-factor lockout", params: IdParams, body: ProofBody, response: { 200: Envelope(Type.Object({ wasLocked: Type.Boolean() })) } } },
    async (request) => ok(request, await unlockUser(identity, principalOf(request).userId, (request.params as { id: string }).id, proofOf(request.body))),
  );
  app.post(
    "/admin/users/:id/disable",
    {
      preValidation: noBodyIsEmpty,
      preHandler: guard("users:disable"),
      schema: { tags, security, summary: "Disable an account and end its sessions (never the last active admin)", params: IdParams, body: ProofBody, response: { 200: Envelope(Type.Object({ sessionsRevoked: Type.Integer() })) } },
    },
    async (request) => ok(request, await disableUser(identity, principalOf(request).userId, (request.params as { id: string }).id, proofOf(request.body))),
  );
  app.put(
    "/admin/users/:id/roles",
    {
      preHandler: guard("users:roles"),
      schema: {
        tags,
        security,
        summary: "Replace a user's roles (ends their sessions; never demotes the last active admin)",
        params: IdParams,
        body: Type.Object({ roles: Type.Array(Type.String({ maxLength: 50 }), { minItems: 1, maxItems: 10 }), ...selfProof }, { additionalProperties: false }),
        response: { 200: Envelope(Type.Object({ user: PublicUser })) },
      },
    },
    async (request) => {
      const body = request.body as { roles: string[] } & Proof;
      const user = await setRoles(identity, principalOf(request).userId, (request.params as { id: string }).id, body.roles, body);
      return ok(request, { user: publicUser(user) });
    },
  );
  app.delete(
    "/admin/users/:id/sessions",
    { preHandler: guard("users:sessions"), schema: { tags, security, summary: "End every session of a user", params: IdParams, response: { 200: Envelope(Type.Object({ sessionsRevoked: Type.Integer() })) } } },
    async (request) => ok(request, await revokeUserSessions(identity, principalOf(request).userId, (request.params as { id: string }).id)),
  );
};
