/**
 * Fastify glue of idempotency keys. Routes opt in with
 * `config: { idempotent: true }`; on those, a request carrying
 * `Idempotency-Key` runs at most once per (principal scope, key) within the
 * TTL:
 *
 * - first request: runs; its response (status, body, `content-type`,
 *   `location`, `retry-after`; 5xx included) is stored,
 * - same key, same request: the stored response, with `Idempotency-Replayed: true`,
 * - same key, another request (body, route or method): `422 IDEMPOTENCY_KEY_REUSED`,
 * - same key while the first is still running: `409 IDEMPOTENCY_IN_FLIGHT`.
 *
 * The scope is the principal: the API key id for an API key, else the user
 * id; anonymous requests (register) are scoped by client IP. A request whose
 * credential failed to authenticate is not tracked (the guard answers 401).
 * The hook is a root preHandler, so it runs for routes registered before it
 * and after validation (an invalid body is refused, not stored).
 */
import fp from "fastify-plugin";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { RampartError } from "../errors/index.js";
import type { Runtime } from "../runtime/index.js";
import { isValidIdempotencyKey, requestFingerprint } from "./fingerprint.js";
import { IdempotencyStore } from "./store.js";
import { routeConfigOf } from "../server/plugins/request-context.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Honour `Idempotency-Key` on this route (src/idempotency). */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    idempotency: { scope: string; key: string; fingerprint: string; settled: boolean } | null;
  }
}

export interface IdempotencyPluginOptions {
  runtime: Runtime;
  /** Response lifetime (default IDEMPOTENCY_TTL_HOURS). */
  ttlMs?: number;
  /** Lifetime of an in-flight marker whose request never completes (default 120 s). */
  inFlightTtlMs?: number;
}

export const IDEMPOTENCY_HEADER = "idempotency-key";
export const REPLAYED_HEADER = "idempotency-replayed";
const STORED_HEADERS = ["content-type", "location", "retry-after"];

function scopeOf(request: FastifyRequest): string | null {
  const p = request.principal;
  if (p) return p.apiKeyId ? `api-key:${p.apiKeyId}` : `user:${p.userId}`;
  if (request.authError) return null;
  return `ip:${request.ip}`;
}

const plugin: FastifyPluginAsync<IdempotencyPluginOptions> = async (app, opts) => {
  const { runtime } = opts;
  const store = new IdempotencyStore({
    kv: runtime.kv,
    crypto: runtime.crypto,
    ttlMs: opts.ttlMs ?? runtime.config.idempotencyTtlHours * 3_600_000,
    inFlightTtlMs: opts.inFlightTtlMs ?? 120_000,
  });
  app.decorateRequest("idempotency", null);

  // Every hook is a root hook that returns at once on the routes that did not opt in (every request
  // pays it): callback hooks, so that common path makes no promise.
  /** Resolves true when it answered the request itself (a replay). */
  const begin = async (request: FastifyRequest, reply: FastifyReply, key: string | string[]): Promise<boolean> => {
    if (!isValidIdempotencyKey(key)) {
      throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: "headers.idempotency-key", message: "must be 1 to 255 printable ASCII characters" }] } });
    }
    const scope = scopeOf(request);
    if (scope === null) return false;
    const fingerprint = requestFingerprint(request.method, request.routeOptions.url ?? request.url, scope, request.body);
    const result = await store.begin(scope, key, fingerprint);
    if (result.kind === "in-flight") throw new RampartError("IDEMPOTENCY_IN_FLIGHT", { headers: { "retry-after": "1" } });
    if (result.kind === "mismatch") throw new RampartError("IDEMPOTENCY_KEY_REUSED");
    if (result.kind === "replay") {
      const { status, headers, body } = result.response;
      reply.code(status).headers(headers).header(REPLAYED_HEADER, "true").send(body);
      return true;
    }
    request.idempotency = { scope, key, fingerprint, settled: false };
    return false;
  };
  app.addHook("preHandler", (request, reply, done) => {
    const key = routeConfigOf(request).idempotent === true ? request.headers[IDEMPOTENCY_HEADER] : undefined;
    if (key === undefined) return done();
    // A callback hook that answered does not call done (Fastify's hooks contract).
    begin(request, reply, key).then((answered) => {
      if (!answered) done();
    }, done);
  });

  const settle = async (request: FastifyRequest, reply: FastifyReply, payload: unknown, state: NonNullable<FastifyRequest["idempotency"]>): Promise<unknown> => {
    if (typeof payload !== "string" && !Buffer.isBuffer(payload)) {
      // A streamed body cannot be stored: release the key so a retry runs again.
      await store.abandon(state.scope, state.key).catch((err: unknown) => request.log.warn({ err }, "idempotency marker not released"));
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const name of STORED_HEADERS) {
      const v = reply.getHeader(name);
      if (v !== undefined) headers[name] = String(v);
    }
    try {
      await store.complete(state.scope, state.key, state.fingerprint, { status: reply.statusCode, headers, body: payload.toString() });
    } catch (err) {
      request.log.error({ err }, "idempotent response not stored");
      await store.abandon(state.scope, state.key).catch(() => undefined);
    }
    return payload;
  };
  app.addHook("onSend", (request, reply, payload, done) => {
    const state = request.idempotency;
    if (!state || state.settled) return done(null, payload);
    state.settled = true;
    settle(request, reply, payload, state).then((p) => done(null, p), done);
  });

  // A request that ended without a response (client gone, reply hijacked) frees its key.
  const release = (request: FastifyRequest, done: () => void): void => {
    const state = request.idempotency;
    if (!state || state.settled) return done();
    state.settled = true;
    store
      .abandon(state.scope, state.key)
      .catch((err: unknown) => request.log.warn({ err }, "idempotency marker not released"))
      .finally(done);
  };
  app.addHook("onResponse", (request, _reply, done) => release(request, done));
  app.addHook("onRequestAbort", (request, done) => release(request, done));
};

/** Idempotency keys on the routes that opt in; register once on the root, after the auth plugin. */
export const idempotencyPlugin = fp(plugin, { name: "rampart-idempotency", fastify: "5.x", dependencies: ["rampart-auth"] });
