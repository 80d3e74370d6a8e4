/**
 * The OpenAPI 3.1 document, generated from the route schemas (`/openapi.json`),
 * and a reference UI at `/docs`.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { ErrorEnvelopeSchema } from "./envelope.js";

export async function registerOpenApi(app: FastifyInstance, options: { version: string; publicUrl: string }): Promise<void> {
  app.addSchema(ErrorEnvelopeSchema);
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Rampart API",
        version: options.version,
        description: "Identity and security service. Every JSON response is the envelope `{ success, data | code+message, traceId }`; errors are listed in docs/errors.md.",
      },
      servers: [{ url: options.publicUrl }],
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "Access token (JWT) or API key (rp_...)" } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true, uiConfig: { deepLinking: false } });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}
