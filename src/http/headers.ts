/**
 * The security headers of every response, as data: a JSON API needs no
 * scripts, styles, frames or referrers, so its policy denies them all
 * (OWASP REST Security Cheat Sheet, "Security headers"). HSTS (RFC 6797) is
 * sent in production only, where the public URL is HTTPS. The Fastify glue
 * (plugin.ts) writes `securityHeaderBlock` on every response.
 */
import type { Config } from "../config/index.js";

/** One year: the HSTS max-age production requires (and the preload list's minimum). */
export const HSTS_MIN_PRODUCTION_SECONDS = 31_536_000;

/** CSP of API responses: nothing may load, nothing may frame them. */
export const API_CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  "default-src": ["'none'"],
  "frame-ancestors": ["'none'"],
});

/**
 * CSP of the OpenAPI reference UI under `/docs` (swagger-ui: its own scripts,
 * stylesheets, fonts and images, and `fetch` of the document and of "Try it
 * out" calls to the API). It replaces the UI's built-in static CSP, whose
 * `upgrade-insecure-requests` makes the page blank over plain HTTP on any host
 * but loopback and whose `img-src` lets the page load the public
 * validator.swagger.io badge (sending it the document's URL).
 */
export function docsCspDirectives(publicOrigin: string): Readonly<Record<string, readonly string[]>> {
  return Object.freeze({
    "default-src": ["'none'"],
    "base-uri": ["'self'"],
    "script-src": ["'self'"],
    "script-src-attr": ["'none'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'", publicOrigin],
    "form-action": ["'self'"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
  });
}

/**
 * CSP of the web console under `/console` (a single-page app built by Vite):
 * its own scripts and stylesheets only, no inline code or `eval`, images from
 * itself and `data:` (the TOTP QR code arrives as a data URL), API calls to its
 * own origin, never framed.
 */
export const CONSOLE_CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  "default-src": ["'self'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "img-src": ["'self'", "data:"],
  "connect-src": ["'self'"],
  "frame-ancestors": ["'none'"],
  "base-uri": ["'none'"],
  "form-action": ["'self'"],
  "object-src": ["'none'"],
});

/** Serializes CSP directives (`name value value; name value`), CSP3 §2.2.1. */
export function serializeCsp(directives: Readonly<Record<string, readonly string[]>>): string {
  return Object.entries(directives)
    .map(([name, values]) => (values.length === 0 ? name : `${name} ${values.join(" ")}`))
    .join("; ");
}

/** A CSP for every route under a path prefix, replacing the API policy there. */
export interface RouteCsp {
  readonly prefix: string;
  readonly directives: Readonly<Record<string, readonly string[]>>;
}

export interface SecurityHeaderSettings {
  /** CSP directives for API responses. */
  readonly cspDirectives: Readonly<Record<string, readonly string[]>>;
  /** Routes that serve HTML and so need a policy of their own (the `/docs` UI). */
  readonly routeCsp: readonly RouteCsp[];
  /** HSTS max-age in seconds, or undefined when HSTS is not sent (outside production, or set to 0). */
  readonly hstsMaxAgeSeconds: number | undefined;
}

export function securityHeaderSettings(config: Pick<Config, "nodeEnv" | "hstsMaxAgeSeconds" | "publicUrl">): SecurityHeaderSettings {
  // Outside production the server is usually reached over plain http://localhost, where a
  // cached HSTS policy would break every other local service on that host name.
  const hsts = config.nodeEnv === "production" && config.hstsMaxAgeSeconds > 0 ? config.hstsMaxAgeSeconds : undefined;
  const routeCsp = [{ prefix: "/docs", directives: docsCspDirectives(new URL(config.publicUrl).origin) }];
  return Object.freeze({ cspDirectives: API_CSP_DIRECTIVES, routeCsp: Object.freeze(routeCsp), hstsMaxAgeSeconds: hsts });
}

/**
 * The security headers of an API response as `[name, value]` pairs: the set,
 * with the values, that helmet writes for these settings (plus
 * `Cache-Control: no-store`, which every JSON answer gets). Routed responses
 * and those written below Fastify's hooks (a malformed URL, a request Node's
 * parser refused) carry exactly this block; compute it once.
 */
export function securityHeaderBlock(settings: SecurityHeaderSettings): readonly (readonly [string, string])[] {
  // helmet joins directives with ";" and no space; keep its exact value.
  const csp = Object.entries(settings.cspDirectives)
    .map(([name, values]) => (values.length === 0 ? name : `${name} ${values.join(" ")}`))
    .join(";");
  const block: [string, string][] = [
    ["content-security-policy", csp],
    ["cross-origin-opener-policy", "same-origin"],
    ["cross-origin-resource-policy", "same-origin"],
    ["origin-agent-cluster", "?1"],
    ["referrer-policy", "no-referrer"],
  ];
  if (settings.hstsMaxAgeSeconds !== undefined) block.push(["strict-transport-security", `max-age=${settings.hstsMaxAgeSeconds}; includeSubDomains`]);
  block.push(
    ["x-content-type-options", "nosniff"],
    ["x-dns-prefetch-control", "off"],
    ["x-download-options", "noopen"],
    ["x-frame-options", "DENY"],
    ["x-permitted-cross-domain-policies", "none"],
    ["x-xss-protection", "0"],
    ["cache-control", "no-store"],
  );
  return Object.freeze(block.map((pair) => Object.freeze(pair)));
}

/** Whether a Content-Type is JSON (`application/json`, `application/problem+json`, `application/health+json`, ...). */
export function isJsonContentType(contentType: unknown): boolean {
  return typeof contentType === "string" && /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(contentType);
}
