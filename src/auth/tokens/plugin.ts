/**
 * Fastify glue of the access tokens: `GET /.well-known/jwks.json`, the public
 * signing keys as a JWK Set (RFC 7517 §5, media type per §8.5), cacheable for
 * less than the publish delay so relying parties see a new key before it signs.
 */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import type { AccessTokens } from "./access-tokens.js";

/** Options of jwksPlugin. */
export interface JwksPluginOptions {
  readonly tokens: Pick<AccessTokens, "jwks" | "jwksMaxAgeSeconds">;
}

const JwkSchema = Type.Object(
  {
    kty: Type.Literal("OKP"),
    crv: Type.Literal("Ed25519"),
    x: Type.String({ description: "The public key, base64url (RFC 8037 §2)." }),
    kid: Type.String(),
    alg: Type.Literal("EdDSA"),
    use: Type.Literal("sig"),
  },
  { additionalProperties: false },
);

const JwkSetSchema = Type.Object({ keys: Type.Array(JwkSchema) }, { additionalProperties: false, description: "JWK Set (RFC 7517 §5)." });

/** Registers `GET /.well-known/jwks.json`. */
export const jwksPlugin: FastifyPluginAsync<JwksPluginOptions> = async (app, opts) => {
  const cacheControl = `public, max-age=${opts.tokens.jwksMaxAgeSeconds}`;
  app.get(
    "/.well-known/jwks.json",
    {
      schema: {
        tags: ["auth"],
        summary: "Public keys that verify access tokens: pending, active and recently retired",
        response: { 200: JwkSetSchema },
      },
    },
    async (_request, reply) => {
      reply.type("application/jwk-set+json; charset=utf-8").header("cache-control", cacheControl);
      return opts.tokens.jwks();
    },
  );
};
