/**
 * Request context: the trace id (adopted from `traceparent` / `x-request-id`
 * when well-formed, else new) becomes `request.id`, is echoed as
 * `x-request-id`, and is available to all code through AsyncLocalStorage.
 */
import fp from "fastify-plugin";
import type { FastifyPluginCallback } from "fastify";
import { runWithContext, type RequestContext } from "../../context/index.js";

declare module "fastify" {
  interface FastifyRequest {
    ctx: RequestContext;
  }
}

const plugin: FastifyPluginCallback = (app, _opts, done) => {
  app.decorateRequest("ctx", null as unknown as RequestContext);
  app.addHook("onRequest", (request, reply, next) => {
    request.ctx = { traceId: request.id, ip: request.ip };
    reply.header("x-request-id", request.id);
    runWithContext(request.ctx, next);
  });
  // Body parsing resumes on the socket's async context; re-enter ours so the
  // handler and every later hook see the request context.
  app.addHook("preValidation", (request, _reply, next) => {
    runWithContext(request.ctx, next);
  });
  done();
};

export const requestContextPlugin = fp(plugin, { name: "rampart-request-context", fastify: "5.x" });
