/**
 * Error handling: every failure leaves as the envelope of docs/architecture.md (or RFC
 * 9457 problem+json when the client asks for it), with the trace id. Fastify's
 * own errors are mapped to catalogue codes; anything unexpected becomes a
 * generic 500 and the real error goes to the log with the trace id.
 */
import fp from "fastify-plugin";
import type { FastifyError, FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import { builtInErrors, errorCatalogue, isRampartError, RampartError, toEnvelope, toProblem, type AnyErrorCode, type ErrorCatalogue, type ErrorCode } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";
import { validationDetails } from "../validation.js";
import { traceIdOf } from "./request-context.js";

interface Mapped {
  code: AnyErrorCode;
  message: string;
  /** A RampartError's code that the catalogue lacks (answered as INTERNAL_ERROR, logged as a programming error). */
  unknownCode?: string;
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "PAYLOAD_TOO_LARGE", message: "The request body is too large." },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: "UNSUPPORTED_MEDIA_TYPE", message: "The content type is not supported; send application/json." },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: "VALIDATION_FAILED", message: "The Content-Length header does not match the body." },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: "VALIDATION_FAILED", message: "The request body is empty but the content type is JSON." },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "VALIDATION_FAILED", message: "The request body is not valid JSON." },
  FST_ERR_BAD_URL: { code: "VALIDATION_FAILED", message: "The request URL is malformed." },
  FST_ERR_ASYNC_CONSTRAINT: { code: "VALIDATION_FAILED", message: "The request is not valid." },
};

const BY_STATUS: Record<number, ErrorCode> = {
  400: "VALIDATION_FAILED",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "NOT_FOUND",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
  503: "SERVICE_UNAVAILABLE",
};

/** Maps any error to a catalogue code and client message; `catalogue` holds the app's codes too (default Rampart's). */
export function mapError(err: unknown, catalogue: ErrorCatalogue = builtInErrors): Mapped {
  if (isRampartError(err)) {
    const entry = catalogue.entry(err.code);
    if (!entry) return { code: "INTERNAL_ERROR", message: errorCatalogue.INTERNAL_ERROR.message, unknownCode: err.code };
    const m: Mapped = { code: err.code, message: err.ownMessage ? err.message : entry.message };
    if (err.details) m.details = err.details;
    if (err.headers) m.headers = err.headers;
    return m;
  }
  const fe = err as Partial<FastifyError> & { validation?: unknown[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    return { code: "VALIDATION_FAILED", message: "The request is not valid.", details: validationDetails(fe.validationContext, fe.validation as never) };
  }
  if (typeof fe.code === "string" && FASTIFY_CODES[fe.code]) return { ...FASTIFY_CODES[fe.code]! };
  // JSON.parse errors surface as SyntaxError with statusCode 400.
  if (err instanceof SyntaxError && fe.statusCode === 400) return { code: "VALIDATION_FAILED", message: "The request body is not valid JSON." };
  const status = fe.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500 && BY_STATUS[status]) {
    const code = BY_STATUS[status]!;
    // A client error from a plugin: keep the catalogue text, never the plugin's internal message.
    return { code, message: errorCatalogue[code].message };
  }
  if (status === 503) return { code: "SERVICE_UNAVAILABLE", message: errorCatalogue.SERVICE_UNAVAILABLE.message };
  return { code: "INTERNAL_ERROR", message: errorCatalogue.INTERNAL_ERROR.message };
}

/** Whether the client asked for RFC 9457 problem+json (and did not refuse it with q=0). */
export function wantsProblem(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === "string" && /application\/problem\+json(?!\s*;\s*q=0(?:\.0*)?\s*(?:,|$))/i.test(accept);
}

export function sendError(request: FastifyRequest, reply: FastifyReply, mapped: Mapped, securityHeaders?: Record<string, string>, catalogue: ErrorCatalogue = builtInErrors): FastifyReply {
  const status = catalogue.entry(mapped.code)?.status ?? errorCatalogue.INTERNAL_ERROR.status;
  // An error thrown by a hook that runs before the security-headers hook would otherwise leave without them.
  if (securityHeaders) reply.headers(securityHeaders);
  const traceId = traceIdOf(request);
  reply.header("x-request-id", traceId);
  if (mapped.headers) for (const [k, v] of Object.entries(mapped.headers)) reply.header(k, v);
  reply.code(status);
  if (wantsProblem(request)) {
    const instance = request.url.split("?", 1)[0] ?? "/";
    return reply.type("application/problem+json; charset=utf-8").send(toProblem(mapped.code, mapped.message, traceId, instance, mapped.details, catalogue));
  }
  return reply.type("application/json; charset=utf-8").send(toEnvelope(mapped.code, mapped.message, traceId, mapped.details));
}

export interface ErrorsPluginOptions {
  /** Where unexpected errors are logged (default the app's logger). */
  log?: Pick<Logger, "error" | "warn">;
  /** Security headers every error answer carries, whichever hook failed (src/http/headers.ts `securityHeaderBlock`). */
  securityHeaders?: readonly (readonly [string, string])[];
  /** The app's error catalogue (`createErrorCatalogue(appCodes)`); default Rampart's codes only. */
  catalogue?: ErrorCatalogue;
}

const plugin: FastifyPluginCallback<ErrorsPluginOptions> = (app, opts, done) => {
  const log = opts.log ?? app.log;
  const securityHeaders = opts.securityHeaders ? Object.freeze(Object.fromEntries(opts.securityHeaders)) : undefined;
  // While the app closes, requests still arriving on open connections are refused with the envelope
  // (Fastify's own closing answer is a bare JSON body without headers; the app turns it off).
  let closing = false;
  app.addHook("preClose", (next) => {
    closing = true;
    next();
  });
  app.addHook("onRequest", (_request, reply, next) => {
    if (!closing) return next();
    reply.header("connection", "close");
    next(new RampartError("SERVICE_UNAVAILABLE", { message: "The server is shutting down; retry on another connection." }));
  });
  app.setErrorHandler((err, request, reply) => {
    const catalogue = opts.catalogue ?? builtInErrors;
    const mapped = mapError(err, catalogue);
    if (mapped.unknownCode !== undefined) {
      log.error({ err, traceId: traceIdOf(request), errorCode: mapped.unknownCode }, `error code '${mapped.unknownCode}' is not in the catalogue; define it in the \`errors\` option`);
    } else if (mapped.code === "INTERNAL_ERROR") {
      log.error({ err, traceId: traceIdOf(request), method: request.method, route: request.routeOptions.url ?? null }, "unhandled error");
    } else if ((catalogue.entry(mapped.code)?.status ?? 500) >= 500) {
      // An outage the server reports (a dependency down, an app's upstream failing): the cause, for operators.
      log.warn({ err, traceId: traceIdOf(request), errorCode: mapped.code }, `answered ${mapped.code}`);
    }
    return sendError(request, reply, mapped, securityHeaders, catalogue);
  });
  app.setNotFoundHandler((request, reply) => sendError(request, reply, { code: "NOT_FOUND", message: "No route matches this method and path." }, securityHeaders));
  done();
};

export const errorsPlugin = fp(plugin, { name: "rampart-errors", fastify: "5.x" });
