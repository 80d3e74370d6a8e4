/**
 * The answers written before any hook runs: a URL the router cannot decode or
 * a path parameter over the length limit (Fastify's `frameworkErrors`), and a
 * request Node's parser refused outright — a malformed request line or header,
 * headers over the size limit, a request that did not arrive in time (the
 * server's `clientError`). Each leaves as the error envelope with the security
 * headers of every routed answer and a trace id in `x-request-id` and the body,
 * and none of them echoes the request: the raw path of a bad URL and the bytes
 * of a bad request line are exactly what an attacker chose.
 *
 * Both handlers are Fastify server options, so they apply to the server the
 * app listens on however it is started (`rampart serve`, `app.listen`).
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { newTraceId } from "../context/index.js";
import { errorCatalogue, toEnvelope, toProblem, type ErrorCode } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import { wantsProblem } from "./plugins/errors.js";

/** Security headers as `[name, value]` pairs (src/http/headers.ts `securityHeaderBlock`). */
export type HeaderBlock = readonly (readonly [string, string])[];

interface Refusal {
  code: ErrorCode;
  message: string;
}

const BAD_URL: Refusal = { code: "VALIDATION_FAILED", message: "The request URL is malformed." };

const FRAMEWORK: Record<string, Refusal> = {
  FST_ERR_BAD_URL: BAD_URL,
  FST_ERR_MAX_PARAM_LENGTH: { code: "VALIDATION_FAILED", message: "A segment of the request URL is too long." },
  FST_ERR_ASYNC_CONSTRAINT: { code: "VALIDATION_FAILED", message: "The request is not valid." },
};

/** Node's parser errors (llhttp `HPE_*` codes and the server's timeouts) by what they mean to a client. */
function clientRefusal(code: string | undefined): Refusal {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return { code: "HEADERS_TOO_LARGE", message: errorCatalogue.HEADERS_TOO_LARGE.message };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { code: "REQUEST_TIMEOUT", message: errorCatalogue.REQUEST_TIMEOUT.message };
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return { code: "PAYLOAD_TOO_LARGE", message: errorCatalogue.PAYLOAD_TOO_LARGE.message };
    default:
      return { code: "VALIDATION_FAILED", message: "The request is not well-formed HTTP." };
  }
}

export interface RawErrorHandlers {
  frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void;
  clientErrorHandler: (error: Error & { code?: string }, socket: Duplex) => void;
}

/**
 * The two handlers for Fastify's server options. The header block is turned
 * into an object and a string of header lines here, once.
 */
export function rawErrorHandlers(headers: HeaderBlock, log: Logger): RawErrorHandlers {
  const headerObject: Record<string, string> = Object.fromEntries(headers);
  const headerLines = headers.map(([name, value]) => `${name}: ${value}\r\n`).join("");

  return {
    // Runs before the onRequest hooks: no request context, so everything the answer needs is set here.
    frameworkErrors(error, request, reply) {
      const refusal = (typeof error.code === "string" && FRAMEWORK[error.code]) || BAD_URL;
      const status = errorCatalogue[refusal.code].status;
      const traceId = request.id;
      let body: string;
      if (wantsProblem(request)) {
        const problem = toProblem(refusal.code, refusal.message, traceId, "");
        // `instance` would be the malformed path itself.
        delete problem.instance;
        body = JSON.stringify(problem);
        reply.type("application/problem+json; charset=utf-8");
      } else {
        body = JSON.stringify(toEnvelope(refusal.code, refusal.message, traceId));
        reply.type("application/json; charset=utf-8");
      }
      log.info({ method: request.method, status, traceId, reason: error.code }, "request refused before routing");
      reply.headers(headerObject).header("x-request-id", traceId).code(status).send(body);
    },

    clientErrorHandler(error, socket) {
      // The peer is gone: nothing to answer.
      if (error.code === "ECONNRESET" || socket.destroyed) return;
      // Mid-response (a later pipelined request failed to parse): writing now would corrupt the
      // answer on the wire, so only close, as Node itself does.
      const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (!socket.writable || inFlight?.headersSent) {
        socket.destroy();
        return;
      }
      const refusal = clientRefusal(error.code);
      const status = errorCatalogue[refusal.code].status;
      const traceId = newTraceId();
      const body = JSON.stringify(toEnvelope(refusal.code, refusal.message, traceId));
      // The error's rawPacket holds the request's bytes: log the code only.
      log.debug({ code: error.code, status, traceId }, "client error");
      const response =
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n` +
        headerLines +
        `x-request-id: ${traceId}\r\n` +
        "content-type: application/json; charset=utf-8\r\n" +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `date: ${new Date().toUTCString()}\r\n` +
        "connection: close\r\n\r\n" +
        body;
      // The parser cannot resume after an error: answer, then close once the answer is flushed.
      socket.end(response, () => socket.destroy());
    },
  };
}
