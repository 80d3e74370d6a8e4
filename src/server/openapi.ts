/**
 * The OpenAPI 3.1 document, generated from the route schemas (`/openapi.json`),
 * and a reference UI at `/docs`. The UI is the optional peer package
 * `@fastify/swagger-ui`, imported only when the UI is on.
 */
import swagger from "@fastify/swagger";
import type * as SwaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance, FastifySchema, RouteOptions } from "fastify";
import { guardedPermissions } from "../auth/plugin.js";
import { loadOptionalPackage } from "../config/optional-package.js";
import { ErrorEnvelopeSchema, ProblemDocumentSchema } from "./envelope.js";

export interface OpenApiOptions {
  version: string;
  publicUrl: string;
  /** The reference UI at `/docs` (default on; needs `@fastify/swagger-ui`). */
  ui?: boolean;
  /** Whether the rate limiter refuses requests to `route` (documented as a possible 429); default none. */
  rateLimited?: (route: RouteOptions) => boolean;
}

/** Where an error answer's body is described: the envelope, or problem+json when the client asks for it. */
const ERROR_CONTENT = {
  "application/json": { schema: { $ref: "ErrorEnvelope#" } },
  "application/problem+json": { schema: { $ref: "ProblemDocument#" } },
};

const errorResponse = (description: string) => ({ description, content: ERROR_CONTENT });

/** "`a`", "`a` and `b`", "`a`, `b` and `c`" (or "or"). */
function codeList(names: readonly string[], conjunction: "and" | "or" = "and"): string {
  const quoted = names.map((n) => `\`${n}\``);
  return quoted.length < 2 ? quoted.join("") : `${quoted.slice(0, -1).join(", ")} ${conjunction} ${quoted.at(-1)}`;
}

/** The parts of a request a route validates, in words. */
function validatedParts(schema: FastifySchema): string[] {
  const parts: [unknown, string][] = [
    [schema.params, "a path parameter"],
    [schema.querystring, "the query"],
    [schema.headers, "a header"],
    [schema.body, "the body"],
  ];
  return parts.filter(([part]) => part !== undefined).map(([, words]) => words);
}

/** The paragraph a guarded route's description ends with: Swagger UI shows no scopes of an http scheme, so the permissions are said in words too. */
export function requiresNote(permissions: readonly string[]): string {
  return `Requires ${codeList(permissions)}.`;
}

/**
 * What the document says of a route beyond its schema, read from how the
 * route is protected: the permissions of its guard as the scopes of its
 * security requirement, and the errors any route protected that way can
 * answer. Only the document's copy changes: Fastify serializes an answer
 * with the route's response schema of its status, and an error must leave
 * exactly as the errors plugin writes it (any app code, problem+json).
 */
function documentRoute(schema: FastifySchema, route: RouteOptions, rateLimited: (route: RouteOptions) => boolean): FastifySchema {
  const permissions = guardedPermissions(route);
  const out: FastifySchema & Record<string, unknown> = { ...schema };
  if (permissions) {
    out.security = [{ bearer: permissions }];
    if (permissions.length > 0) out.description = [schema.description, requiresNote(permissions)].filter((d) => d !== undefined && d !== "").join("\n\n");
  }
  // A route without a response schema keeps the document's default 200 (an error status alone would replace it).
  if (schema.response === undefined) return out;
  const errors: Record<number, unknown> = {};
  const parts = validatedParts(schema);
  if (parts.length > 0) errors[400] = errorResponse(`\`VALIDATION_FAILED\`: ${[parts.slice(0, -1).join(", "), parts.at(-1)].filter(Boolean).join(" or ")} is not valid (\`details\` names each failing field)`);
  if (permissions) errors[401] = errorResponse("`UNAUTHENTICATED`, `TOKEN_EXPIRED` or `TOKEN_REVOKED`: no credential, or one that is not (or no longer) valid");
  if (permissions && permissions.length > 0) errors[403] = errorResponse(`\`FORBIDDEN\`: the credential lacks ${permissions.length > 1 ? "one of " : ""}${codeList(permissions, "or")}`);
  if (rateLimited(route)) errors[429] = errorResponse("`RATE_LIMITED`: too many requests; `Retry-After` says when to try again");
  out.response = { ...errors, ...(schema.response as Record<string, unknown>) };
  return out;
}

/** Registers `/openapi.json` and, unless `ui` is false, the reference UI at `/docs` (which needs `@fastify/swagger-ui`). */
export async function registerOpenApi(app: FastifyInstance, options: OpenApiOptions): Promise<void> {
  app.addSchema(ErrorEnvelopeSchema);
  app.addSchema(ProblemDocumentSchema);
  const rateLimited = options.rateLimited ?? (() => false);
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
    // Called as the document is built, after every route (the app's included) is registered.
    transform: ({ schema, url, route }) => ({ url, schema: schema === undefined || schema.hide === true ? schema : documentRoute(schema, route, rateLimited) }),
  });
  if (options.ui !== false) {
    const swaggerUi = await loadOptionalPackage<typeof SwaggerUi>("@fastify/swagger-ui", "The OpenAPI reference UI at /docs");
    await app.register(swaggerUi.default, { routePrefix: "/docs", staticCSP: true, uiConfig: { deepLinking: false } });
  }
  app.get("/openapi.json", { schema: { hide: true }, config: { compress: true } }, async () => app.swagger());
}
