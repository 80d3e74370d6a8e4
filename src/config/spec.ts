/**
 * The configuration variables Rampart reads, with parser, default, whether the
 * value is secret (masked in errors and `rampart config`) and a description.
 * This table is the single source for the loader, `rampart config` and the
 * README's configuration table (a test keeps the README in step).
 */
import { boolean, host, httpUrl, integer, nonEmpty, oneOf, trustProxy, urlWithScheme } from "./parsers.js";

export interface VarSpec<T> {
  readonly env: string;
  readonly parse: (raw: string) => T;
  /** Default as it would be written in the environment; undefined = unset. */
  readonly default?: string;
  readonly secret?: boolean;
  readonly description: string;
}

function v<T>(spec: VarSpec<T> & { default: string }): VarSpec<T> & { default: string };
function v<T>(spec: VarSpec<T>): VarSpec<T>;
function v<T>(spec: VarSpec<T>): VarSpec<T> {
  return spec;
}

export const configSpec = {
  nodeEnv: v({ env: "NODE_ENV", parse: oneOf("development", "production", "test"), default: "development", description: "`production` turns on the preflight refusals of insecure settings." }),
  port: v({ env: "PORT", parse: integer(0, 65535), default: "8080", description: "TCP port of the HTTP server (0 picks a free port)." }),
  host: v({ env: "HOST", parse: host, default: "127.0.0.1", description: "Address the HTTP server binds to." }),
  logLevel: v({ env: "LOG_LEVEL", parse: oneOf("fatal", "error", "warn", "info", "debug", "trace", "silent"), default: "info", description: "Minimum log level." }),
  logFormat: v({ env: "LOG_FORMAT", parse: oneOf("auto", "json", "pretty"), default: "auto", description: "`auto`: pretty on a terminal in development, JSON otherwise." }),
  dataDir: v({ env: "RAMPART_DATA_DIR", parse: nonEmpty, default: "./.rampart", description: "Directory for the embedded database and local key material." }),
  publicUrl: v({ env: "RAMPART_PUBLIC_URL", parse: httpUrl, description: "Public base URL; the token issuer and the base of links in emails. Default `http://HOST:PORT`." }),
  databaseUrl: v({ env: "DATABASE_URL", parse: urlWithScheme("postgres", "postgresql"), secret: true, description: "PostgreSQL URL; unset = embedded PGlite in the data directory." }),
  databasePoolMax: v({ env: "DATABASE_POOL_MAX", parse: integer(1, 1000), default: "10", description: "Maximum PostgreSQL connections per process." }),
  databaseSsl: v({ env: "DATABASE_SSL", parse: oneOf("disable", "require", "verify-full"), default: "disable", description: "TLS to PostgreSQL: `require` encrypts, `verify-full` also checks the certificate and host name." }),
  databaseSslCa: v({ env: "DATABASE_SSL_CA", parse: nonEmpty, description: "Path of a PEM CA bundle for `DATABASE_SSL=verify-full`." }),
  redisUrl: v({ env: "REDIS_URL", parse: urlWithScheme("redis", "rediss"), secret: true, description: "Redis URL for shared state; unset = in-process memory store (one instance only)." }),
  redisPrefix: v({ env: "REDIS_PREFIX", parse: nonEmpty, default: "rampart:", description: "Prefix of every Redis key this instance writes." }),
  trustProxy: v({ env: "TRUST_PROXY", parse: trustProxy, default: "false", description: "Proxies whose `X-Forwarded-*` headers are trusted: `false`, `true`, a hop count, or IPs/CIDRs." }),
  shutdownTimeoutMs: v({ env: "SHUTDOWN_TIMEOUT_MS", parse: integer(0, 600_000), default: "10000", description: "How long in-flight requests may finish after SIGTERM/SIGINT." }),
  bodyLimitBytes: v({ env: "BODY_LIMIT_BYTES", parse: integer(1024, 1_073_741_824), default: "1048576", description: "Default maximum request body size." }),
  healthCheckTimeoutMs: v({ env: "HEALTH_CHECK_TIMEOUT_MS", parse: integer(10, 60_000), default: "1000", description: "Timeout of each readiness check." }),
  autoMigrate: v({ env: "RAMPART_AUTO_MIGRATE", parse: boolean, description: "Apply pending migrations at start; default true for the embedded database and outside production." }),

  // --- secrets (src/secrets) ---
  // --- end secrets ---

  // --- crypto (src/crypto) ---
  // --- end crypto ---
} as const;

export type ConfigSpec = typeof configSpec;
type Parsed<S> = S extends VarSpec<infer T> ? T : never;
type HasDefault<S> = S extends { default: string } ? true : false;

/** The typed, frozen configuration. */
export type Config = {
  readonly [K in keyof ConfigSpec]: HasDefault<ConfigSpec[K]> extends true ? Parsed<ConfigSpec[K]> : Parsed<ConfigSpec[K]> | undefined;
} & { readonly publicUrl: string };
