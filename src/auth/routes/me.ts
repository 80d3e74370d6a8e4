/** Routes: the caller's profile. */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import { Envelope, ok } from "../../server/envelope.js";
import type { Identity } from "../identity.js";
import { getMe, updateMe } from "../flows/profile.js";
import { guard, principalOf } from "../plugin.js";
import { PublicUser } from "../schemas.js";

const security = [{ bearer: [] }];

export const meRoutes: FastifyPluginAsync<{ identity: Identity }> = async (app, { identity }) => {
  app.get(
    "/me",
    { preHandler: guard("me:read"), schema: { tags: ["me"], security, summary: "The caller's profile", response: { 200: Envelope(Type.Object({ user: PublicUser })) } } },
    async (request) => ok(request, { user: await getMe(identity, principalOf(request).userId) }),
  );
  app.patch(
    "/me",
    {
      preHandler: guard("me:write"),
      schema: {
        tags: ["me"],
        security,
        summary: "Update the caller's profile",
        body: Type.Object({ name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])) }, { additionalProperties: false }),
        response: { 200: Envelope(Type.Object({ user: PublicUser })) },
      },
    },
    async (request) => ok(request, { user: await updateMe(identity, principalOf(request).userId, request.body as { name?: string | null }) }),
  );
};
