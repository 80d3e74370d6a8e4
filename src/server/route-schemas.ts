/**
 * Every product route (under /v1, /health and /.well-known) must declare its
 * schemas: a response schema always, a body schema when it takes a body, a
 * params schema when its path has parameters. The check runs as routes are
 * registered, so a route without schemas fails the build of the app (and so
 * every test), and the OpenAPI document is complete by construction.
 *
 * Its request schemas (params, querystring, body) must also bound every input
 * (src/http/schema-rules.ts: closed objects, string maxLength, maxItems ≤ 100);
 * a violation fails the build naming the route and the JSON Pointer of the
 * offending schema (docs/validation.md).
 */
import type { FastifyInstance, RouteOptions } from "fastify";
import { requestSchemaViolations, type SchemaResolver } from "../http/schema-rules.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** A POST/PUT/PATCH product route that takes no body (exempt from the body-schema rule). */
    noBody?: boolean;
    /**
     * The body arrives as raw bytes that the handler authenticates itself
     * (webhooks): its body schema is exempt from the request-schema rules.
     */
    rawBody?: boolean;
  }
}

const PRODUCT_PREFIXES = ["/v1/", "/health/", "/.well-known/"];

export class RouteSchemaError extends Error {
  override readonly name = "RouteSchemaError";
}

/** Follows `$ref`s: `#/...` inside the part's own schema, `id`, `id#` and `id#/...` to schemas added with addSchema. */
function resolverFor(app: FastifyInstance, root: unknown): SchemaResolver {
  return (ref) => {
    const hash = ref.indexOf("#");
    const id = hash === -1 ? ref : ref.slice(0, hash);
    const fragment = hash === -1 ? "" : ref.slice(hash + 1);
    let target: unknown = id === "" ? root : app.getSchema(id);
    for (const seg of fragment.split("/").slice(1)) {
      if (typeof target !== "object" || target === null) return undefined;
      target = (target as Record<string, unknown>)[seg.replace(/~1/g, "/").replace(/~0/g, "~")];
    }
    return target;
  };
}

/** The request parts of a route schema, with Fastify 5's per-content-type bodies expanded. */
function requestParts(schema: Record<string, unknown>): [string, unknown][] {
  const parts: [string, unknown][] = [];
  if (schema.params !== undefined) parts.push(["params", schema.params]);
  if (schema.querystring !== undefined) parts.push(["querystring", schema.querystring]);
  if (schema.query !== undefined) parts.push(["query", schema.query]);
  const body = schema.body as Record<string, unknown> | undefined;
  if (body !== undefined) {
    const content = body.content as Record<string, { schema?: unknown }> | undefined;
    if (content && typeof content === "object" && !("type" in body)) {
      for (const [type, media] of Object.entries(content)) parts.push([`body(${type})`, media?.schema]);
    } else parts.push(["body", body]);
  }
  return parts;
}

export function checkRouteSchemas(this: FastifyInstance, route: RouteOptions): void {
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

  const problems: string[] = [];
  for (const [part, partSchema] of requestParts(schema)) {
    if (part.startsWith("body") && route.config?.rawBody) continue;
    for (const v of requestSchemaViolations(partSchema, resolverFor(this, partSchema))) problems.push(`${part}${v.pointer === "" ? "" : `#${v.pointer}`} ${v.problem}`);
  }
  if (problems.length > 0) throw new RouteSchemaError(`route ${where}: ${problems.join("; ")} (docs/validation.md)`);
}
