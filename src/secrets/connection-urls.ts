/**
 * Connection URLs as secrets. DATABASE_URL, REDIS_URL and SMTP_URL carry
 * passwords, so each may come from the secrets providers instead of the
 * environment: `database-url`, `redis-url`, `smtp-url` (a mounted file, Vault,
 * AWS Secrets Manager, ...). The variable wins when it is set; the secret is
 * asked only for a variable that is unset, and its value is checked by the
 * variable's own parser. The database URL follows the secret's rotations
 * while the process runs (src/db/postgres-pool.ts); Redis and SMTP read it at
 * start.
 */
import { ConfigError, configSpec, maskSecret, type Config } from "../config/index.js";
import { ConfigValueError } from "../config/parsers.js";
import type { DatabaseUrlSource } from "../db/url-source.js";
import type { Logger, SecretRedactor } from "../log/index.js";
import type { Clock } from "../runtime/clock.js";
import type { SecretsProviderRegistry } from "./schemes.js";
import { createSecrets } from "./service.js";
import type { Secrets, SecretsService } from "./types.js";

/** Each connection setting, the secret that can hold it, and its variable. */
export const CONNECTION_SECRETS = [
  { key: "databaseUrl", secret: "database-url", variable: "DATABASE_URL" },
  { key: "redisUrl", secret: "redis-url", variable: "REDIS_URL" },
  { key: "smtpUrl", secret: "smtp-url", variable: "SMTP_URL" },
] as const;

export type ConnectionKey = (typeof CONNECTION_SECRETS)[number]["key"];

export interface ResolvedConnections {
  /** `config` with every unset connection URL a secret holds filled in (the same object when none is). */
  readonly config: Config;
  /** The settings that came from a secret. */
  readonly fromSecrets: ReadonlySet<ConnectionKey>;
}

/**
 * Fills DATABASE_URL, REDIS_URL and SMTP_URL, where unset, from the secrets
 * `database-url`, `redis-url`, `smtp-url`. A secret whose value is not a URL
 * its variable accepts is a ConfigError naming the secret, with the value
 * masked; a provider that fails rejects as for any secret.
 */
export async function resolveConnectionUrls(config: Config, secrets: Secrets): Promise<ResolvedConnections> {
  const unset = CONNECTION_SECRETS.filter((c) => config[c.key] === undefined);
  const values = await Promise.all(unset.map((c) => secrets.getOptional(c.secret)));
  const filled: Partial<Record<ConnectionKey, string>> = {};
  unset.forEach((c, i) => {
    const value = values[i];
    if (value !== undefined) filled[c.key] = parseConnectionSecret(c.key, value);
  });
  const fromSecrets = new Set(Object.keys(filled) as ConnectionKey[]);
  return { config: fromSecrets.size === 0 ? config : Object.freeze({ ...config, ...filled }), fromSecrets };
}

/** `value` checked as the connection setting `key` is; a ConfigError naming the secret (value masked) when it is not valid. */
export function parseConnectionSecret(key: ConnectionKey, value: string): string {
  const entry = CONNECTION_SECRETS.find((c) => c.key === key)!;
  try {
    return configSpec[key].parse(value);
  } catch (err) {
    if (err instanceof ConfigValueError) throw new ConfigError(`secret ${entry.secret}`, `${err.expected}, as ${entry.variable}`, `'${maskSecret(value)}' (masked)`);
    throw err;
  }
}

export interface OneShotOptions {
  /** The environment the `env` provider reads. */
  env: Record<string, string | undefined>;
  log: Logger;
  redactor: SecretRedactor;
  clock: Clock;
  /** The runtime's schemes (built-ins and the app's); default the built-ins. */
  schemes?: SecretsProviderRegistry;
}

/**
 * resolveConnectionUrls with a secrets service of its own, closed afterwards:
 * for commands that open a store without a runtime (`rampart migrate`).
 */
export async function resolveConnectionUrlsOnce(config: Config, options: OneShotOptions): Promise<Config> {
  if (CONNECTION_SECRETS.every((c) => config[c.key] !== undefined)) return config;
  const secrets = createSecrets({ config, ...options, refreshIntervalMs: 0 });
  try {
    const resolved = await resolveConnectionUrls(config, secrets);
    for (const key of resolved.fromSecrets) registerConnectionUrl(options.redactor, resolved.config[key]!);
    return resolved.config;
  } finally {
    await secrets.close();
  }
}

/**
 * Registers a connection URL with the redactor: as a whole, and its password
 * alone (decoded), which drivers may print on their own.
 */
export function registerConnectionUrl(redactor: SecretRedactor, url: string): void {
  redactor.register(url);
  try {
    const u = new URL(url);
    if (u.password) redactor.register(decodeURIComponent(u.password));
  } catch {
    // Not a URL: registered as a whole above.
  }
}

/**
 * The secret `database-url` as the database pool's URL source: re-read on
 * demand (when PostgreSQL refuses the credentials) and watched for rotations.
 * Each new value is registered with the redactor before the pool sees it.
 */
export function databaseUrlSource(secrets: SecretsService, redactor: SecretRedactor): DatabaseUrlSource {
  const name = "database-url";
  return {
    label: `secret ${name}`,
    async reread() {
      await secrets.refresh(name);
      const url = await secrets.get(name);
      registerConnectionUrl(redactor, url);
      return url;
    },
    watch(onChange) {
      return secrets.onRotate(name, (url) => {
        registerConnectionUrl(redactor, url);
        onChange(url);
      });
    },
  };
}
