/**
 * Fastify glue of quotas: decorates the app with the runtime's `quotas`,
 * counts `api.requests` for every authenticated request, and writes the
 * warnings of every consumption made while serving a request (the built-in
 * meters' and the app's own, `quotas.consume(principal, "llm.tokens", n)`)
 * as `X-Quota-Warning` on its response.
 *
 * The counting hook is an `onRequest` hook on the root instance, so it runs
 * for every route (whenever it was registered) and for unknown routes (the
 * 404 handler runs the same hooks): an authenticated request to a path that
 * does not exist still costs a unit. It runs after the auth hook (which
 * resolves the principal) and after rate limiting (a rate-limited request is
 * not counted), because both are registered before it. Routes opt out with
 * `config: { quota: false }` (`GET /v1/me/usage`, so a user at the limit can
 * still see when it resets). While the kv store is unreachable requests are
 * admitted uncounted (logged): a quota is an allowance, not a security
 * boundary; uploads, which store data, fail closed instead.
 */
import fp from "fastify-plugin";
import type { FastifyPluginAsync } from "fastify";
import { isRampartError } from "../errors/index.js";
import { KvUnavailableError } from "../kv/unavailable.js";
import type { Runtime } from "../runtime/index.js";
import { appendWarning, formatWarning, WARNING_HEADER } from "./headers.js";
import type { AppQuotaOptions } from "./meters.js";
import type { Quotas } from "./quotas.js";
import { createQuotas } from "./setup.js";
import { routeConfigOf } from "../server/plugins/request-context.js";

declare module "fastify" {
  interface FastifyInstance {
    quotas: Quotas;
  }
  interface FastifyContextConfig {
    /** `false`: the route does not count against (nor is refused by) the `api.requests` quota. */
    quota?: false;
  }
}

export interface QuotaPluginOptions extends AppQuotaOptions {
  runtime: Runtime;
  /** An existing service (else one is built from the runtime's config and `meters`, and closed with the app). */
  quotas?: Quotas;
}

const plugin: FastifyPluginAsync<QuotaPluginOptions> = async (app, opts) => {
  // A service passed in already has its meters: a second list would be silently ignored.
  if (opts.quotas && opts.meters) throw new TypeError("quotaPlugin: pass `meters` to createQuotas(runtime, { meters }) when you pass `quotas`");
  const quotas = opts.quotas ?? (await createQuotas(opts.runtime, opts.meters ? { meters: opts.meters } : {}));
  if (!opts.quotas) app.addHook("onClose", () => quotas.close());
  app.decorate("quotas", quotas);
  const log = opts.runtime.log;

  // Callback hooks: anonymous requests and responses without warnings (nearly all) make no promise.
  app.addHook("onRequest", (request, _reply, done) => {
    const principal = request.principal;
    if (!principal || routeConfigOf(request).quota === false) return done();
    quotas.consume(principal, "api.requests", 1).then(
      () => done(),
      (err: unknown) => {
        if (isRampartError(err) && !(err instanceof KvUnavailableError)) return done(err);
        log.warn({ err }, "api.requests quota not counted: the kv store failed");
        done();
      },
    );
  });

  // Warnings are per request context, so they reach the response whoever consumed.
  // Members a route already wrote itself (uploads do) are not repeated.
  app.addHook("onSend", (request, reply, payload, done) => {
    const ctx = request.ctx as object | null;
    const warnings = ctx ? quotas.takeWarnings(ctx) : [];
    if (warnings.length > 0) {
      const existing = reply.getHeader(WARNING_HEADER);
      const fresh = warnings.map((s) => formatWarning([s])).filter((m) => typeof existing !== "string" || !existing.includes(m));
      if (fresh.length > 0) reply.header(WARNING_HEADER, appendWarning(existing, fresh.join(", ")));
    }
    done(null, payload);
  });
};

export const quotaPlugin = fp(plugin, { name: "rampart-quotas", fastify: "5.x", dependencies: ["rampart-auth"] });
