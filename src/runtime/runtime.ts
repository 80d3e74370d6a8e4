/**
 * The Runtime: every piece of I/O a core needs (database, kv, clock, logger,
 * health probes), created once at start-up from the config. The server, the CLI
 * and the tests all build it with createRuntime, so there is one wiring.
 */
import type { DestinationStream } from "pino";
import type { Config } from "../config/index.js";
import { openDatabase, pendingMigrations, migrateToLatest, type Database } from "../db/index.js";
import type { HealthCheck } from "../health/index.js";
import { createKv, type KvStore } from "../kv/index.js";
import { createLogger, resolveLogFormat, SecretRedactor, type Logger } from "../log/index.js";
import { createSecrets, type SecretsService } from "../secrets/index.js";
import { systemClock, type Clock } from "./clock.js";

export interface Runtime {
  readonly config: Config;
  readonly clock: Clock;
  readonly redactor: SecretRedactor;
  readonly log: Logger;
  readonly db: Database;
  readonly kv: KvStore;
  /** Secrets from the provider chain of RAMPART_SECRETS, cached, every value registered with the redactor. */
  readonly secrets: SecretsService;
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
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const redactor = options.redactor ?? new SecretRedactor();
  const log =
    options.logger ??
    createLogger({
      level: config.logLevel,
      format: options.logDestination ? "json" : resolveLogFormat(config.logFormat, config.nodeEnv),
      redactor,
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    });
  // Connection strings are secrets too: never printable once loaded.
  if (config.databaseUrl) registerUrlSecrets(redactor, config.databaseUrl);
  if (config.redisUrl) registerUrlSecrets(redactor, config.redisUrl);

  const secrets = createSecrets({ config, env: options.env ?? process.env, redactor, log, clock });
  let db: Database;
  try {
    db = await openDatabase(config);
  } catch (err) {
    await secrets.close();
    throw err;
  }
  const kv = createKv({ redisUrl: config.redisUrl, redisPrefix: config.redisPrefix, clock, log });
  const closers: (() => Promise<void> | void)[] = [];
  let closing: Promise<void> | undefined;

  const runtime: Runtime = {
    config,
    clock,
    redactor,
    log,
    db,
    kv,
    secrets,
    healthChecks: [
      { name: "database", probe: () => db.ping() },
      { name: "kv", probe: () => kv.ping() },
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
        await secrets.close().catch((err: unknown) => log.error({ err }, "error closing secrets"));
        await kv.close().catch((err: unknown) => log.error({ err }, "error closing kv"));
        await db.close().catch((err: unknown) => log.error({ err }, "error closing database"));
        log.flush?.();
      })();
      return closing;
    },
  };
  return runtime;
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
 * Schema policy at start: the embedded database and non-production deployments
 * migrate themselves; production PostgreSQL refuses to start on pending
 * migrations (they are an operator's step: `rampart migrate`).
 */
export async function prepareSchema(runtime: Runtime): Promise<void> {
  const { config, db, log } = runtime;
  const auto = config.autoMigrate ?? (db.kind === "pglite" || config.nodeEnv !== "production");
  if (auto) {
    const { applied } = await migrateToLatest(db.kysely);
    if (applied.length > 0) log.info({ applied }, "migrations applied");
    return;
  }
  const pending = await pendingMigrations(db.kysely);
  if (pending.length > 0) {
    throw new PendingMigrationsError(pending);
  }
}

export class PendingMigrationsError extends Error {
  override readonly name = "PendingMigrationsError";
  constructor(readonly pending: string[]) {
    super(`the database has ${pending.length} pending migration(s) (${pending.join(", ")}); run \`rampart migrate\` first`);
  }
}
