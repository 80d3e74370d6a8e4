/**
 * One access line per request: method, route template, path, status,
 * duration, trace id and user id when known. The query string is left out: it
 * may carry tokens.
 */
import fp from "fastify-plugin";
import type { FastifyPluginCallback } from "fastify";
import type { Logger } from "../../log/index.js";
import { traceIdOf } from "./request-context.js";

const plugin: FastifyPluginCallback<{ log: Logger }> = (app, opts, done) => {
  app.addHook("onResponse", (request, reply, next) => {
    const path = request.url.split("?", 1)[0];
    opts.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        path,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        traceId: traceIdOf(request),
        ...(request.ctx?.userId ? { userId: request.ctx.userId } : {}),
      },
      "request",
    );
    next();
  });
  done();
};

export const accessLogPlugin = fp(plugin, { name: "rampart-access-log", fastify: "5.x" });
