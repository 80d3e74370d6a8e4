/**
 * Request context: the trace id (adopted from `traceparent` / `x-request-id`
 * when well-formed, else new) becomes `request.ctx.traceId`, is echoed as
 * `x-request-id`, and is available to all code through AsyncLocalStorage.
 *
 * The id is the plugin's own, whatever the host's `genReqId`: with
 * `rampartServerOptions` (server-options.ts) Fastify's `request.id` is the same
 * id, computed once before routing so the answers written before any hook
 * (raw-errors.ts) carry it too; on any other instance the plugin resolves it
 * here and `request.id` stays the host's.
 */
import fp from "fastify-plugin";
import type { FastifyContextConfig, FastifyPluginCallback, FastifyRequest } from "fastify";
import type { IncomingMessage } from "node:http";
import { currentContext, resolveTraceId, runWithContext, traceparentSampled, type RequestContext } from "../../context/index.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The request's context: trace id, client IP, and the user id once authenticated. */
    ctx: RequestContext;
  }
}

const kTraceId = Symbol("rampart.traceId");
const kRouteConfig = Symbol("rampart.routeConfig");

/** A route's config as Fastify keeps it: the route's own `config`, plus its `url` and `method` (none for the 404 handler). */
export type RouteConfig = FastifyContextConfig & { readonly url?: string; readonly method?: string | string[] };

/**
 * The request's route config, read once per request: Fastify's
 * `request.routeOptions` builds a new object on every access, and the hooks
 * of one request (rate limit, quotas, idempotency, metrics, access log) ask
 * for it five times.
 */
export function routeConfigOf(request: FastifyRequest): RouteConfig {
  const cached = (request as unknown as Record<symbol, RouteConfig | null | undefined>)[kRouteConfig];
  if (cached) return cached;
  const config = (request.routeOptions.config ?? {}) as RouteConfig;
  (request as unknown as Record<symbol, RouteConfig>)[kRouteConfig] = config;
  return config;
}

type Marked = IncomingMessage & { [kTraceId]?: string };

/** A `genReqId` that resolves the trace id and marks the raw request with it, so the plugin adopts it as is. */
export function traceIdRequestId(req: IncomingMessage): string {
  const id = resolveTraceId(req.headers.traceparent, req.headers["x-request-id"]);
  (req as Marked)[kTraceId] = id;
  return id;
}

/** The request's trace id: its context's once the plugin ran, else `request.id` (errors raised before any hook). */
export function traceIdOf(request: FastifyRequest): string {
  return (request.ctx as RequestContext | null | undefined)?.traceId ?? (request.raw as Marked)[kTraceId] ?? request.id;
}

const plugin: FastifyPluginCallback = (app, _opts, done) => {
  app.decorateRequest("ctx", null as unknown as RequestContext);
  // Declared here so the cache of routeConfigOf is part of every request's shape.
  app.decorateRequest(kRouteConfig, null);
  app.addHook("onRequest", (request, reply, next) => {
    const headers = request.headers;
    const traceId = (request.raw as Marked)[kTraceId] ?? resolveTraceId(headers.traceparent, headers["x-request-id"]);
    request.ctx = headers.traceparent !== undefined && traceparentSampled(headers.traceparent, traceId) ? { traceId, sampled: true, ip: request.ip } : { traceId, ip: request.ip };
    reply.header("x-request-id", traceId);
    runWithContext(request.ctx, next);
  });
  // Body parsing resumes on the socket's async context; re-enter ours so the
  // handler and every later hook see the request context.
  app.addHook("preValidation", (request, _reply, next) => {
    // A request without a body never left the context: entering it again costs an async resource.
    if (currentContext() === request.ctx) return next();
    runWithContext(request.ctx, next);
  });
  done();
};

export const requestContextPlugin = fp(plugin, { name: "rampart-request-context", fastify: "5.x" });
