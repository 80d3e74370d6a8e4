/**
 * The OpenAPI 3.1 document, generated from the route schemas (`/openapi.json`),
 * and a reference UI at `/docs`. The UI is the optional peer package
 * `@fastify/swagger-ui`, imported only when the UI is on.
 */
import swagger from "@fastify/swagger";
import type * as SwaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { loadOptionalPackage } from "../config/optional-package.js";
import { ErrorEnvelopeSchema } from "./envelope.js";

/** Registers `/openapi.json` and, unless `ui` is false, the reference UI at `/docs` (which needs `@fastify/swagger-ui`). */
export async function registerOpenApi(app: FastifyInstance, options: { version: string; publicUrl: string; ui?: boolean }): Promise<void> {
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
  if (options.ui !== false) {
    const swaggerUi = await loadOptionalPackage<typeof SwaggerUi>("@fastify/swagger-ui", "The OpenAPI reference UI at /docs");
    await app.register(swaggerUi.default, { routePrefix: "/docs", staticCSP: true, uiConfig: { deepLinking: false } });
  }
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}
