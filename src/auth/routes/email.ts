/** Routes: email verification with an emailed token, and resending the link. */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import { Envelope, ok } from "../../server/envelope.js";
import type { Identity } from "../identity.js";
import { resendVerification, verifyEmail } from "../flows/email-verification.js";
import { Email, OpaqueToken } from "../schemas.js";

const tags = ["auth"];

export const emailRoutes: FastifyPluginAsync<{ identity: Identity }> = async (app, { identity }) => {
  app.post(
    "/auth/email/verify",
    {
      config: { rateLimit: { policy: "forgot" } },
      schema: {
        tags,
        summary: "Verify the account's email with an emailed token",
        description: "The token works once and expires; using it spends every other outstanding verification link of the account.",
        body: Type.Object({ token: OpaqueToken }, { additionalProperties: false }),
        response: { 200: Envelope(Type.Object({ verified: Type.Literal(true) })) },
      },
    },
    async (request) => ok(request, await verifyEmail(identity, (request.body as { token: string }).token)),
  );

  app.post(
    "/auth/email/resend",
    {
      config: { rateLimit: { policy: "forgot" } },
      schema: {
        tags,
        summary: "Email a new verification link (always 202, same body)",
        description: "Sends a link only to an active account whose email is not verified yet, at most once a minute; the answer is the same for every address.",
        body: Type.Object({ email: Email }, { additionalProperties: false }),
        response: { 202: Envelope(Type.Object({ accepted: Type.Literal(true) })) },
      },
    },
    async (request, reply) => {
      resendVerification(identity, (request.body as { email: string }).email);
      reply.code(202);
      return ok(request, { accepted: true as const });
    },
  );
};
