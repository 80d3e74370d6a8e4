/**
 * Fastify glue of quotas: decorates the app with the runtime's `quotas` and
 * counts `api.requests` for every authenticated request.
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
import type { Runtime } from "../runtime/index.js";
import { appendWarning, formatWarning, WARNING_HEADER } from "./headers.js";
import type { Quotas } from "./quotas.js";
import { createQuotas } from "./setup.js";

declare module "fastify" {
  interface FastifyInstance {
    quotas: Quotas;
  }
  interface FastifyContextConfig {
    /** `false`: the route does not count against (nor is refused by) the `api.requests` quota. */
    quota?: false;
  }
}

export interface QuotaPluginOptions {
  runtime: Runtime;
  /** An existing service (else one is built from the runtime's config and closed with the app). */
  quotas?: Quotas;
}

const plugin: FastifyPluginAsync<QuotaPluginOptions> = async (app, opts) => {
  const quotas = opts.quotas ?? (await createQuotas(opts.runtime));
  if (!opts.quotas) app.addHook("onClose", () => quotas.close());
  app.decorate("quotas", quotas);
  const log = opts.runtime.log;

  app.addHook("onRequest", async (request, reply) => {
    const principal = request.principal;
    if (!principal || request.routeOptions.config?.quota === false) return;
    try {
      const { warnings } = await quotas.consume(principal.userId, "api.requests", 1);
      if (warnings.length > 0) reply.header(WARNING_HEADER, appendWarning(reply.getHeader(WARNING_HEADER), formatWarning(warnings)));
    } catch (err) {
      if (isRampartError(err)) throw err;
      log.warn({ err }, "api.requests quota not counted: the kv store failed");
    }
  });
};

export const quotaPlugin = fp(plugin, { name: "rampart-quotas", fastify: "5.x", dependencies: ["rampart-auth"] });
