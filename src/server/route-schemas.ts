/**
 * Every product route (under /v1, /health and /.well-known) must declare its
 * schemas: a response schema always, a body schema when it takes a body, a
 * params schema when its path has parameters. The check runs as routes are
 * registered, so a route without schemas fails the build of the app (and so
 * every test), and the OpenAPI document is complete by construction.
 */
import type { RouteOptions } from "fastify";

declare module "fastify" {
  interface FastifyContextConfig {
    /** A POST/PUT/PATCH product route that takes no body (exempt from the body-schema rule). */
    noBody?: boolean;
  }
}

const PRODUCT_PREFIXES = ["/v1/", "/health/", "/.well-known/"];

export class RouteSchemaError extends Error {
  override readonly name = "RouteSchemaError";
}

export function checkRouteSchemas(route: RouteOptions): void {
  if (!PRODUCT_PREFIXES.some((p) => route.url.startsWith(p))) return;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (methods.every((m) => m === "HEAD")) return; // Fastify's automatic HEAD twin of a GET
  const schema = route.schema as Record<string, unknown> | undefined;
  const where = `${methods.join(",")} ${route.url}`;
  if (!schema?.response) throw new RouteSchemaError(`route ${where} has no response schema`);
  if (methods.some((m) => m === "POST" || m === "PUT" || m === "PATCH") && !schema.body && !route.config?.noBody) {
    throw new RouteSchemaError(`route ${where} takes a body but has no body schema (set config.noBody for a route without one)`);
  }
  if (route.url.includes(":") && !schema.params) throw new RouteSchemaError(`route ${where} has path parameters but no params schema`);
}
