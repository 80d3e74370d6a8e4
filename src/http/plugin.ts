/**
 * Fastify glue of the HTTP protections, in the order they must run on a
 * request: security headers (helmet, so every later answer carries them,
 * redirects and preflights included), plain-HTTP redirect/refusal, then CORS
 * (preflights are answered before authentication and rate limiting, which
 * browsers never send credentials to). Each is a plugin of its own so a host
 * application can adopt one; `httpProtectionsPlugin` registers all three.
 */
import cors, { type FastifyCorsOptions } from "@fastify/cors";
import helmet from "@fastify/helmet";
import type { FastifyPluginAsync, FastifyRequest, onSendHookHandler } from "fastify";
import fp from "fastify-plugin";
import type { Config } from "../config/index.js";
import { RampartError } from "../errors/index.js";
import { allowedOrigin, CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, CORS_METHODS, corsPolicyFromConfig, type CorsPolicy } from "./cors.js";
import { isJsonContentType, securityHeaderSettings, serializeCsp, type SecurityHeaderSettings } from "./headers.js";
import { httpsEnforcement, plainHttpDecision, type HttpsEnforcement } from "./https.js";

export interface SecurityHeadersPluginOptions {
  settings: SecurityHeaderSettings;
}

const securityHeaders: FastifyPluginAsync<SecurityHeadersPluginOptions> = async (app, { settings }) => {
  const directives = Object.fromEntries(Object.entries(settings.cspDirectives).map(([k, v]) => [k, [...v]]));
  await app.register(helmet, {
    // Only our directives: helmet's defaults allow same-origin scripts and styles, which a JSON API never needs.
    contentSecurityPolicy: { useDefaults: false, directives },
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "no-referrer" },
    strictTransportSecurity: settings.hstsMaxAgeSeconds === undefined ? false : { maxAge: settings.hstsMaxAgeSeconds, includeSubDomains: true, preload: false },
  });
  // Pages that need a policy of their own (the /docs UI) get it in a route-level onSend
  // hook, which runs after every plugin's own hooks (swagger-ui sets a static CSP in its scope).
  if (settings.routeCsp.length > 0) {
    app.addHook("onRoute", (route) => {
      const match = settings.routeCsp.find((r) => route.url === r.prefix || route.url.startsWith(`${r.prefix}/`));
      if (!match) return;
      const csp = serializeCsp(match.directives);
      const setCsp: onSendHookHandler = async (_request, reply, payload) => {
        reply.header("content-security-policy", csp);
        return payload;
      };
      route.onSend = [...(route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]), setCsp];
    });
  }
  // Responses carry tokens and personal data: no shared or browser cache may keep them
  // unless the route chose a policy itself (the JWKS is public and cacheable).
  app.addHook("onSend", async (_request, reply, payload) => {
    if (!reply.hasHeader("cache-control") && isJsonContentType(reply.getHeader("content-type"))) reply.header("cache-control", "no-store");
    return payload;
  });
};

/** helmet with the API's policy on every response, and `Cache-Control: no-store` on JSON. */
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
  const base: FastifyCorsOptions = {
    credentials: policy.allowCredentials,
    methods: [...CORS_METHODS],
    allowedHeaders: [...CORS_ALLOWED_HEADERS],
    exposedHeaders: [...CORS_EXPOSED_HEADERS],
    maxAge: policy.maxAgeSeconds,
    preflight: true,
    strictPreflight: true,
    preflightContinue: false,
    optionsSuccessStatus: 204,
  };
  const denied: FastifyCorsOptions = { ...base, origin: false };
  await app.register(cors, {
    hideOptionsRoute: true,
    // Decided per request (the plugin then always adds `Vary: Origin`, so a cache never serves
    // one origin's answer to another). A denied origin gets no CORS header at all, and an
    // OPTIONS that is not a well-formed preflight falls through to the 404 envelope.
    delegator: (request: FastifyRequest, cb: (error: Error | null, options?: FastifyCorsOptions) => void) => {
      const value = allowedOrigin(policy, request.headers.origin);
      if (value === undefined) return cb(null, denied);
      if (request.method === "OPTIONS" && request.headers["access-control-request-method"] === undefined) return cb(null, denied);
      cb(null, { ...base, origin: value });
    },
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
