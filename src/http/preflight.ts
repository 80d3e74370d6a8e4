/**
 * Production refusals for the HTTP and deployment settings, for `rampart
 * preflight` and `serve` with NODE_ENV=production. Each problem names the
 * variable to change.
 */
import type { Config } from "../config/index.js";
import { ANY_ORIGIN } from "./cors-origins.js";
import { HSTS_MIN_PRODUCTION_SECONDS } from "./headers.js";

export interface ConfigProblem {
  /** The environment variable (or `secret <name>`) to change. */
  readonly variable: string;
  readonly problem: string;
}

export type HttpPreflightConfig = Pick<
  Config,
  "corsOrigins" | "corsAllowCredentials" | "rateLimitEnabled" | "publicUrl" | "hstsMaxAgeSeconds" | "instances" | "redisUrl" | "databaseUrl" | "smtpUrl"
>;

/** Problems that make the HTTP and deployment settings unfit for production; empty when none. */
export function httpPreflight(config: HttpPreflightConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const origins = config.corsOrigins ?? [];
  if (origins.includes(ANY_ORIGIN) && config.corsAllowCredentials) {
    problems.push({ variable: "CORS_ORIGINS", problem: "* with CORS_ALLOW_CREDENTIALS=true lets any site act with your users' credentials; list the allowed origins" });
  }
  for (const o of origins) {
    // A page served over http can be rewritten in transit, and its scripts would be trusted by the API.
    if (o.startsWith("http:")) problems.push({ variable: "CORS_ORIGINS", problem: `${o} is not HTTPS; allow only https origins in production` });
  }
  if (!config.rateLimitEnabled) problems.push({ variable: "RATE_LIMIT_ENABLED", problem: "rate limiting is switched off; remove RATE_LIMIT_ENABLED=false" });
  if (!config.publicUrl.startsWith("https:")) {
    problems.push({ variable: "RAMPART_PUBLIC_URL", problem: `must be an https:// URL in production (tokens, links and redirects use it), instead got ${config.publicUrl}` });
  }
  if (config.hstsMaxAgeSeconds < HSTS_MIN_PRODUCTION_SECONDS) {
    problems.push({ variable: "HSTS_MAX_AGE_SECONDS", problem: `must be at least ${HSTS_MIN_PRODUCTION_SECONDS} (one year) in production, instead got ${config.hstsMaxAgeSeconds}` });
  }
  if (config.instances > 1) {
    // Rate limits, lockout counters, revocations and replay caches must be shared, or each instance enforces its own.
    if (config.redisUrl === undefined) problems.push({ variable: "REDIS_URL", problem: `RAMPART_INSTANCES=${config.instances} needs a shared store; the in-process memory store is per instance` });
    // PGlite is one process's embedded database in its data directory.
    if (config.databaseUrl === undefined) problems.push({ variable: "DATABASE_URL", problem: `RAMPART_INSTANCES=${config.instances} needs PostgreSQL; the embedded database serves one process` });
  }
  if (config.smtpUrl === undefined) problems.push({ variable: "SMTP_URL", problem: "is not set: password-reset mail would only be written to the log" });
  return problems;
}
