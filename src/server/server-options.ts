/**
 * The Fastify constructor options that complete the `rampart` plugin's
 * hardening. A plugin cannot set them on an instance that already exists, so
 * a host app passes them itself: `Fastify(rampartServerOptions(runtime))`.
 *
 * - `genReqId`: `request.id` is the trace id (from `traceparent` /
 *   `x-request-id` when well-formed), so Fastify's own request logs and the
 *   answers written before any hook carry the id every envelope carries;
 * - `frameworkErrors` / `clientErrorHandler`: a malformed URL or request line
 *   is answered with the error envelope and the security headers, never echoed
 *   (raw-errors.ts);
 * - `trustProxy` (TRUST_PROXY), `bodyLimit` (BODY_LIMIT_BYTES);
 * - strict body validation: no type coercion, unknown properties refused, every
 *   failing field reported (validation.ts);
 * - the runtime's redacting logger, with the access-log plugin's one line per
 *   request instead of Fastify's two;
 * - closing: idle keep-alive connections closed, requests arriving during the
 *   close refused with the envelope (the errors plugin) instead of a bare 503.
 */
import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from "fastify";
import type { Config } from "../config/index.js";
import { securityHeaderBlock } from "../http/headers.js";
import { httpProtectionsOptions } from "../http/plugin.js";
import type { Logger } from "../log/index.js";
import { traceIdRequestId } from "./plugins/request-context.js";
import { rawErrorHandlers } from "./raw-errors.js";
import { schemaController } from "./validation.js";

/** What the options are built from: a runtime, or any object with its `config` and `log`. */
export interface ServerOptionsSource {
  config: Config;
  log: Logger;
}

/**
 * Fastify constructor options for an app that registers the `rampart`
 * plugin (see the module comment). Spread them and override what the app
 * needs: `Fastify({ ...rampartServerOptions(runtime), pluginTimeout: 30_000 })`.
 */
export function rampartServerOptions({ config, log }: ServerOptionsSource): FastifyServerOptions {
  const securityHeaders = securityHeaderBlock(httpProtectionsOptions(config).headers);
  return {
    loggerInstance: log as FastifyBaseLogger,
    // Fastify's own request lines are replaced by the access-log plugin.
    logController: new LogController({ disableRequestLogging: true }),
    // One logger per runtime; the trace id comes from the request context mixin.
    childLoggerFactory: (logger) => logger,
    genReqId: traceIdRequestId,
    requestIdHeader: false,
    // A hop count is accepted by Fastify (proxy-addr) though its types omit it.
    trustProxy: config.trustProxy as boolean | string[],
    bodyLimit: config.bodyLimitBytes,
    // Refused by the errors plugin instead, with the envelope and the security headers.
    return503OnClosing: false,
    ...rawErrorHandlers(securityHeaders, log),
    forceCloseConnections: "idle",
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    schemaController,
    ajv: { customOptions: { removeAdditional: false, allErrors: true } },
  };
}
