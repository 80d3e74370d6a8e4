/** Routes: the caller's API keys (create, list, revoke). */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import { Envelope, ok } from "../../server/envelope.js";
import type { Identity } from "../identity.js";
import { createApiKey, listApiKeys, revokeApiKey } from "../flows/api-keys.js";
import { guard, principalOf } from "../plugin.js";
import { ApiKey, Code, IdParams, Password } from "../schemas.js";

const security = [{ bearer: [] }];

export const apiKeyRoutes: FastifyPluginAsync<{ identity: Identity }> = async (app, { identity }) => {
  const tags = ["api-keys"];
  app.post(
    "/api-keys",
    {
      config: { idempotent: true },
      preHandler: guard("api-keys:write"),
      schema: {
        tags,
        security,
        summary: "Create an API key (the key is shown once)",
        description: "A key with a scope ending in `:write` or an admin permission needs the owner's `password` again (and `code` when MFA is on), also when an API key asks.",
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100 }),
            scopes: Type.Array(Type.String({ maxLength: 130 }), { maxItems: 64 }),
            expiresAt: Type.Optional(Type.String({ format: "date-time", maxLength: 64 })),
            password: Type.Optional(Password),
            code: Type.Optional(Code),
          },
          { additionalProperties: false },
        ),
        response: { 201: Envelope(Type.Composite([ApiKey, Type.Object({ key: Type.String() })])) },
      },
    },
    async (request, reply) => {
      const created = await createApiKey(identity, principalOf(request), request.body as { name: string; scopes: string[]; expiresAt?: string; password?: string; code?: string });
      reply.code(201);
      return ok(request, created);
    },
  );
  app.get(
    "/api-keys",
    { preHandler: guard("api-keys:read"), schema: { tags, security, summary: "The caller's API keys (never the secret)", response: { 200: Envelope(Type.Object({ apiKeys: Type.Array(ApiKey) })) } } },
    async (request) => ok(request, { apiKeys: await listApiKeys(identity, principalOf(request).userId) }),
  );
  app.delete(
    "/api-keys/:id",
    { preHandler: guard("api-keys:write"), schema: { tags, security, summary: "Revoke an API key", params: IdParams, response: { 200: Envelope(Type.Object({ revoked: Type.Boolean() })) } } },
    async (request) => {
      await revokeApiKey(identity, principalOf(request).userId, (request.params as { id: string }).id);
      return ok(request, { revoked: true });
    },
  );
};
