/**
 * Fastify glue of the HTTP protections, in the order they must run on a
 * request: security headers (first, so every later answer carries them,
 * redirects and preflights included), plain-HTTP redirect/refusal, then CORS
 * (preflights are answered before authentication and rate limiting, which
 * browsers never send credentials to). Each is a plugin of its own so a host
 * application can adopt one; `httpProtectionsPlugin` registers all three.
 *
 * Headers and CORS are written here rather than by helmet and @fastify/cors:
 * both recompute per request what is fixed at start (helmet re-parses its CSP
 * directives, @fastify/cors re-normalises the options a per-request delegator
 * returns), which cost ~9 % of a protected request. The values are the ones
 * those libraries wrote (headers.ts, cors.ts), computed once.
 */
import type { FastifyPluginAsync, onRequestHookHandler, onSendHookHandler } from "fastify";
import fp from "fastify-plugin";
import type { Config } from "../config/index.js";
import { RampartError } from "../errors/index.js";
import { corsPolicyFromConfig, corsResponseHeaders, type CorsPolicy } from "./cors.js";
import { isJsonContentType, securityHeaderBlock, securityHeaderSettings, serializeCsp, type SecurityHeaderSettings } from "./headers.js";
import { httpsEnforcement, plainHttpDecision, type HttpsEnforcement } from "./https.js";

export interface SecurityHeadersPluginOptions {
  settings: SecurityHeaderSettings;
}

const securityHeaders: FastifyPluginAsync<SecurityHeadersPluginOptions> = async (app, { settings }) => {
  // Cache-Control is decided at onSend, once the content type is known.
  const block = securityHeaderBlock(settings).filter(([name]) => name !== "cache-control");
  const setHeaders: onRequestHookHandler = (_request, reply, done) => {
    for (const [name, value] of block) reply.header(name, value);
    done();
  };
  app.addHook("onRequest", setHeaders);
  // Pages that need a policy of their own (the /docs UI) get it in a route-level onSend
  // hook, which runs after every plugin's own hooks (swagger-ui sets a static CSP in its scope).
  if (settings.routeCsp.length > 0) {
    app.addHook("onRoute", (route) => {
      const match = settings.routeCsp.find((r) => route.url === r.prefix || route.url.startsWith(`${r.prefix}/`));
      if (!match) return;
      const csp = serializeCsp(match.directives);
      const setCsp: onSendHookHandler = (_request, reply, payload, done) => {
        reply.header("content-security-policy", csp);
        done(null, payload);
      };
      route.onSend = [...(route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]), setCsp];
    });
  }
  // Responses carry tokens and personal data: no shared or browser cache may keep them
  // unless the route chose a policy itself (the JWKS is public and cacheable).
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (!reply.hasHeader("cache-control") && isJsonContentType(reply.getHeader("content-type"))) reply.header("cache-control", "no-store");
    done(null, payload);
  });
};

/** The API's security headers on every response (see headers.ts), and `Cache-Control: no-store` on JSON. */
export const securityHeadersPlugin = fp(securityHeaders, { name: "rampart-security-headers", fastify: "5.x" });

export interface HttpsPluginOptions {
  enforcement: HttpsEnforcement;
}

const httpsOnly: FastifyPluginAsync<HttpsPluginOptions> = async (app, { enforcement }) => {
  if (!enforcement.enabled) return;
  app.addHook("onRequest", async (request, reply) => {
    const decision = plainHttpDecision(enforcement, { method: request.method, protocol: request.protocol, url: request.url });
    if (decision.kind === "redirect") return reply.redirect(decision.location, 308);
    if (decision.kind === "refuse") {
      throw new RampartError("FORBIDDEN", { message: `HTTPS is required; send this request to ${enforcement.publicOrigin}.` });
    }
    return undefined;
  });
};

/** In production behind a trusted proxy: 308 to RAMPART_PUBLIC_URL for plain-HTTP GET/HEAD, `403 FORBIDDEN` otherwise. */
export const httpsPlugin = fp(httpsOnly, { name: "rampart-https", fastify: "5.x" });

export interface CorsPluginOptions {
  policy: CorsPolicy;
}

const corsGlue: FastifyPluginAsync<CorsPluginOptions> = async (app, { policy }) => {
  const answers = corsResponseHeaders(policy);
  app.addHook("onRequest", (request, reply, done) => {
    // Always, so a cache never serves one origin's answer to another (Fetch §3.2.5).
    reply.header("vary", "Origin");
    const origin = request.headers.origin;
    if (origin === undefined) return done();
    const allowed = answers(origin);
    // A denied origin gets no CORS header at all.
    if (allowed === undefined) return done();
    if (request.method !== "OPTIONS") {
      reply.headers(allowed.actual);
      return done();
    }
    // An OPTIONS that is not a well-formed preflight falls through to the router (the 404 envelope).
    if (request.headers["access-control-request-method"] === undefined) return done();
    // Safari waits for a body on a 204 without Content-Length: 0.
    reply.headers(allowed.preflight).code(204).header("content-length", "0").send();
  });
};

/** CORS from an exact allowlist (see cors.ts). */
export const corsPlugin = fp(corsGlue, { name: "rampart-cors", fastify: "5.x" });

export interface HttpProtectionsOptions {
  headers: SecurityHeaderSettings;
  https: HttpsEnforcement;
  cors: CorsPolicy;
}

/** The protections' settings from a config (throws CorsConfigError for `*` with credentials). */
export function httpProtectionsOptions(config: Config): HttpProtectionsOptions {
  return { headers: securityHeaderSettings(config), https: httpsEnforcement(config), cors: corsPolicyFromConfig(config) };
}

const protections: FastifyPluginAsync<HttpProtectionsOptions> = async (app, opts) => {
  await app.register(securityHeadersPlugin, { settings: opts.headers });
  await app.register(httpsPlugin, { enforcement: opts.https });
  await app.register(corsPlugin, { policy: opts.cors });
};

/** Security headers, HTTPS enforcement and CORS, in that order, on every route of the app. */
export const httpProtectionsPlugin = fp(protections, { name: "rampart-http-protections", fastify: "5.x" });
