/**
 * The Runtime: every piece of I/O a core needs (database, kv, secrets,
 * keyring, clock, logger, security events, health probes, the upstreams of
 * outbound calls), created once at start-up from the config. The server, the
 * CLI and the tests all build it with createRuntime, so there is one wiring.
 */
import { PendingMigrationsError } from "./pending-migrations.js";
import type { DestinationStream } from "pino";
import type { Config } from "../config/index.js";
import { AuditLog } from "../audit/audit-log.js";
import { createKeyring, KekMismatchError, type Keyring } from "../crypto/index.js";
import { kekProviderRegistry, type KekProviderDefinition } from "../crypto/kek/index.js";
import { CIPHERTEXT_COLUMNS, openDatabase, pendingAppMigrations, pendingMigrations, migrateToLatest, type AppMigrations, type Database } from "../db/index.js";
import { SecurityEvents } from "../events/index.js";
import type { CheckResult, HealthCheck } from "../health/index.js";
import { databaseCheck, kvCheck } from "../health/dependencies.js";
import { createKv, type KvStore } from "../kv/index.js";
import { createLogger, resolveLogFormat, SecretRedactor, type Logger } from "../log/index.js";
import { UpstreamRegistry, type UpstreamOverrides } from "../resilience/index.js";
import { createSecrets, type SecretsService } from "../secrets/index.js";
import { secretsProviderRegistry } from "../secrets/chain.js";
import { databaseUrlSource, resolveConnectionUrls } from "../secrets/connection-urls.js";
import type { SecretsProviderDefinition } from "../secrets/schemes.js";
import { systemClock, type Clock } from "./clock.js";
import { assertSharedDatabaseReady } from "./shared-database.js";

export interface Runtime {
  readonly config: Config;
  readonly clock: Clock;
  readonly redactor: SecretRedactor;
  readonly log: Logger;
  readonly db: Database;
  readonly kv: KvStore;
  /** Secrets from the provider chain of RAMPART_SECRETS, cached, every value registered with the redactor. */
  readonly secrets: SecretsService;
  /** Envelope encryption: KEK provider, data keys, per-subject keys, blind indexes. */
  readonly crypto: Keyring;
  /** The tamper-evident audit log; security events marked `audit` are appended to it. */
  readonly audit: AuditLog;
  readonly events: SecurityEvents;
  /**
   * Every outbound dependency's resilience policies and counters (KMS,
   * secrets backends, webhook handlers, and a host's own APIs), one per name;
   * `/metrics` lists them all.
   */
  readonly upstreams: UpstreamRegistry;
  /** Readiness probes; capabilities add theirs. */
  readonly healthChecks: HealthCheck[];
  /** Runs `fn` at close, before the stores shut (last registered, first run). */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  clock?: Clock;
  /** Log destination (tests capture lines here); default stdout. */
  logDestination?: DestinationStream;
  logger?: Logger;
  redactor?: SecretRedactor;
  /** The environment the `env` secrets provider reads; default process.env. */
  env?: Record<string, string | undefined>;
  /**
   * Settings that replace part of a built-in upstream's, by name (`kms.aws`,
   * `secrets.vault`, ...): a shorter timeout, another breaker; the failure
   * classification and the rest stay the built-in ones.
   */
  upstreams?: UpstreamOverrides;
  /** KEK providers of the app, registered after the built-ins; RAMPART_KMS may name any of them. */
  kekProviders?: readonly KekProviderDefinition[];
  /** Secrets provider schemes of the app (`myvault:`), registered after the built-ins, for RAMPART_SECRETS. */
  secretsProviders?: readonly SecretsProviderDefinition[];
  /**
   * The host app's own Kysely migrations, applied after Rampart's under the
   * same lock (recorded in `rampart_app_migrations`), with the same policy:
   * automatic in embedded and non-production mode, refused when pending in
   * production.
   */
  migrations?: AppMigrations;
}

/** The logger a runtime (and the preflight before it) writes to: the one given, else one built from the config. */
export function runtimeLogger(config: Config, options: Pick<RuntimeOptions, "logger" | "logDestination">, redactor: SecretRedactor): Logger {
  return (
    options.logger ??
    createLogger({
      level: config.logLevel,
      format: options.logDestination ? "json" : resolveLogFormat(config.logFormat, config.nodeEnv),
      redactor,
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    })
  );
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  // This runtime's provider tables; an unknown RAMPART_KMS stops the start here, before anything opens.
  const kekProviders = kekProviderRegistry(options.kekProviders);
  kekProviders.resolve(config.kms);
  const schemes = secretsProviderRegistry(options.secretsProviders);
  const clock = options.clock ?? systemClock;
  const redactor = options.redactor ?? new SecretRedactor();
  const log = runtimeLogger(config, options, redactor);
  // Connection strings are secrets too: never printable once loaded.
  for (const url of [config.databaseUrl, config.redisUrl, config.smtpUrl]) if (url) registerUrlSecrets(redactor, url);

  // Built in dependency order; on a failure part-way, what was opened is closed again.
  const opened: (() => Promise<void>)[] = [];
  const unwind = async () => {
    for (const fn of opened.reverse()) await fn().catch(() => undefined);
  };
  const upstreams = new UpstreamRegistry({ log }, options.upstreams);
  try {
    const secrets = createSecrets({ config, env: options.env ?? process.env, redactor, log, clock, upstreams, schemes });
    opened.push(() => secrets.close());
    // DATABASE_URL, REDIS_URL, SMTP_URL left unset come from the secrets database-url, redis-url, smtp-url.
    const connections = await resolveConnectionUrls(config, secrets);
    config = connections.config;
    for (const key of connections.fromSecrets) registerUrlSecrets(redactor, config[key]!);
    // Before anything opens: a database shared by instances needs the keys and issuer they all use.
    await assertSharedDatabaseReady(config, secrets);
    // A URL from a secret is followed through its rotations (src/db/postgres-pool.ts).
    const db = await openDatabase(config, { log, urlSource: connections.fromSecrets.has("databaseUrl") ? databaseUrlSource(secrets, redactor) : undefined });
    opened.push(() => db.close());
    const kv = createKv({ redisUrl: config.redisUrl, redisPrefix: config.redisPrefix, clock, log });
    opened.push(() => kv.close());
    await prepareSchema({ config, db, log }, options.migrations);
    const crypto = await createKeyring({ config, db: db.kysely, secrets, log, clock, kv, upstreams, kekProviders });
    opened.push(() => crypto.close());
    // Keys that cannot open the database's KEK would fail every request touching encrypted data: refuse now, naming why.
    await crypto.verifyKeys();
    for (const column of CIPHERTEXT_COLUMNS) crypto.registerCiphertextColumn(column);
    const audit = new AuditLog(db.kysely, await crypto.blindIndex("audit.ip"), clock);
    return assemble({ config, clock, redactor, log, db, kv, secrets, crypto, audit, upstreams });
  } catch (err) {
    await unwind();
    throw err;
  }
}

function assemble(parts: Omit<Runtime, "healthChecks" | "onClose" | "close" | "events">): Runtime {
  const { db, kv, secrets, crypto, log, audit } = parts;
  const closers: (() => Promise<void> | void)[] = [];
  let closing: Promise<void> | undefined;
  return {
    ...parts,
    events: new SecurityEvents(log, audit),
    healthChecks: [
      // PostgreSQL and Redis unreachable are `warn`: shared by every instance (src/health/dependencies.ts).
      databaseCheck(db),
      kvCheck(kv),
      // The KEK provider is shared too (the local provider keeps its key metadata in PostgreSQL); keys that do not open the KEK fail.
      { name: "kms", probe: () => kmsProbe(crypto, log), shared: parts.config.kms === "local" ? "postgresql" : parts.config.kms },
    ],
    onClose(fn) {
      closers.push(fn);
    },
    close() {
      closing ??= (async () => {
        for (const fn of closers.reverse()) {
          try {
            await fn();
          } catch (err) {
            log.error({ err }, "error while closing");
          }
        }
        for (const [name, fn] of [
          ["keyring", () => crypto.close()],
          ["secrets", () => secrets.close()],
          ["kv", () => kv.close()],
          ["database", () => db.close()],
        ] as const) {
          await fn().catch((err: unknown) => log.error({ err }, `error closing ${name}`));
        }
        log.flush?.();
      })();
      return closing;
    },
  };
}

/**
 * The `kms` readiness check. Keys that do not open the database's KEK fail it
 * with their cause in the report (the public output carries no key id or
 * check value; the log has the rest); an outage of the provider is `warn`
 * (the check is shared, src/health/checks.ts).
 */
async function kmsProbe(crypto: Keyring, log: Logger): Promise<CheckResult | void> {
  try {
    await crypto.ping();
  } catch (err) {
    if (!(err instanceof KekMismatchError)) throw err;
    log.warn({ err }, "readiness check failed: this instance's keys do not open the database's key encryption key");
    return { status: "fail", output: err.reason };
  }
}

function registerUrlSecrets(redactor: SecretRedactor, url: string): void {
  redactor.register(url);
  try {
    const u = new URL(url);
    if (u.password) redactor.register(decodeURIComponent(u.password));
  } catch {
    // validated by config already
  }
}

/**
 * Schema policy at start, for Rampart's migrations and the app's (`app`)
 * alike: the embedded database and non-production deployments migrate
 * themselves; production PostgreSQL refuses to start on pending migrations
 * (they are an operator's step: `rampart migrate`, or `migrateToLatest(db,
 * appMigrations)` for an app's own).
 */
export async function prepareSchema(runtime: Pick<Runtime, "config" | "db" | "log">, app: AppMigrations = {}): Promise<void> {
  const { config, db, log } = runtime;
  const auto = config.autoMigrate ?? (db.kind === "pglite" || config.nodeEnv !== "production");
  if (auto) {
    const { applied, appApplied } = await migrateToLatest(db.kysely, app);
    if (applied.length > 0) log.info({ applied }, "migrations applied");
    if (appApplied.length > 0) log.info({ applied: appApplied }, "app migrations applied");
    return;
  }
  const pending = [...(await pendingMigrations(db.kysely)), ...(await pendingAppMigrations(db.kysely, app)).map((n) => `app:${n}`)];
  if (pending.length > 0) {
    throw new PendingMigrationsError(pending);
  }
}
