/**
 * The CORS policy of the API (Fetch standard §3.2, "CORS protocol"): which
 * origins may read responses, with which methods and request headers, which
 * response headers they may see, and for how long a preflight is cached.
 * The origin decision is an exact lookup in the configured allowlist; the
 * request's `Origin` is echoed back only when it is in that list, never
 * because it "looks like" an allowed one, and `null` is never allowed.
 */
import type { Config } from "../config/index.js";
import { ANY_ORIGIN } from "./cors-origins.js";

/** The methods the API's routes use (no HEAD: it is a simple method and never preflighted). */
export const CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** Request headers a cross-origin caller may send beyond the CORS-safelisted ones. */
export const CORS_ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "traceparent"] as const;

/** Response headers a cross-origin caller may read beyond the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = [
  "X-Request-Id",
  "RateLimit",
  "RateLimit-Policy",
  "Retry-After",
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
  "X-Quota-Warning",
] as const;

export interface CorsPolicy {
  /** Normalized allowed origins; `["*"]` allows any origin (never with credentials). Empty: no cross-origin access. */
  readonly origins: readonly string[];
  readonly allowCredentials: boolean;
  /** `Access-Control-Max-Age` of preflight responses, in seconds. */
  readonly maxAgeSeconds: number;
}

/** Thrown for a policy browsers would reject and that would be unsafe if they did not: `*` with credentials. */
export class CorsConfigError extends Error {
  override readonly name = "CorsConfigError";
}

/** The CORS policy of a config; refuses `CORS_ORIGINS=*` with `CORS_ALLOW_CREDENTIALS=true` in every environment. */
export function corsPolicyFromConfig(config: Pick<Config, "corsOrigins" | "corsAllowCredentials" | "corsMaxAgeSeconds">): CorsPolicy {
  const origins = config.corsOrigins ?? [];
  if (config.corsAllowCredentials && origins.includes(ANY_ORIGIN)) {
    throw new CorsConfigError("CORS_ORIGINS: * cannot be combined with CORS_ALLOW_CREDENTIALS=true (any site could act with the user's credentials); list the allowed origins");
  }
  return Object.freeze({ origins: Object.freeze([...origins]), allowCredentials: config.corsAllowCredentials, maxAgeSeconds: config.corsMaxAgeSeconds });
}

/**
 * The `Access-Control-Allow-Origin` value for a request's `Origin`, or
 * undefined when the origin may not read the response. Exact comparison:
 * browsers serialize origins canonically (lower-case scheme and host, no
 * default port), so a differently written origin is not the same site.
 */
export function allowedOrigin(policy: CorsPolicy, origin: string | undefined): string | undefined {
  if (origin === undefined || origin === "" || origin === "null") return undefined;
  if (policy.origins.includes(ANY_ORIGIN)) return policy.allowCredentials ? undefined : ANY_ORIGIN;
  return policy.origins.includes(origin) ? origin : undefined;
}

/** The CORS headers of an allowed origin's answers: simple requests and preflights. */
export interface CorsAnswer {
  readonly actual: Readonly<Record<string, string>>;
  readonly preflight: Readonly<Record<string, string>>;
}

/**
 * The headers answered to each request `Origin`, or undefined when the origin
 * may not read the response; computed once per allowed origin, not per request.
 */
export function corsResponseHeaders(policy: CorsPolicy): (origin: string) => CorsAnswer | undefined {
  const answers = new Map<string, CorsAnswer>();
  const answerFor = (value: string): CorsAnswer => {
    const actual: Record<string, string> = { "access-control-allow-origin": value };
    if (policy.allowCredentials) actual["access-control-allow-credentials"] = "true";
    actual["access-control-expose-headers"] = CORS_EXPOSED_HEADERS.join(", ");
    const preflight = {
      ...actual,
      "access-control-allow-methods": CORS_METHODS.join(", "),
      "access-control-allow-headers": CORS_ALLOWED_HEADERS.join(", "),
      "access-control-max-age": String(policy.maxAgeSeconds),
    };
    return Object.freeze({ actual: Object.freeze(actual), preflight: Object.freeze(preflight) });
  };
  for (const origin of policy.origins) answers.set(origin, answerFor(origin));
  return (origin) => {
    const value = allowedOrigin(policy, origin);
    return value === undefined ? undefined : answers.get(value);
  };
}
