/**
 * Opens the database for a runtime: PostgreSQL through `pg` when DATABASE_URL
 * is set (or the secret `database-url`, resolved by the runtime; the pool is
 * in postgres-pool.ts), otherwise PGlite in the data directory. Both are Kysely over the same
 * dialect, so every query and migration is written once. PGlite (26 MB of
 * WebAssembly) is an optional peer package, imported only in embedded mode.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type * as PGliteModule from "@electric-sql/pglite";
import type { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Config } from "../config/index.js";
import { loadOptionalPackage } from "../config/optional-package.js";
import type { Logger } from "../log/logger.js";
import { lockDataDir } from "./data-dir-lock.js";
import { PGliteDialect } from "./pglite-dialect.js";
import { PostgresConnections } from "./postgres-pool.js";
import type { DatabaseUrlSource } from "./url-source.js";
import type { Tables } from "./tables.js";

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Database {
  readonly kind: "pglite" | "postgres";
  readonly kysely: Kysely<Tables>;
  /** One round trip; rejects when the database is unreachable. */
  ping(): Promise<void>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}

// int8 (OID 20) as a JS number in both modes: counters and sequences here stay
// far below 2^53, and one representation keeps the two modes identical.
const INT8_OID = 20;
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} exceeds the safe integer range`);
  return n;
}

export type DatabaseConfig = Pick<Config, "databaseUrl" | "databasePoolMax" | "databaseSsl" | "databaseSslCa" | "dataDir">;

export interface OpenDatabaseOptions {
  /**
   * Where DATABASE_URL's value came from when it can change while the process
   * runs (the secret `database-url`): the pool then follows its rotations
   * (postgres-pool.ts). Without it the URL is fixed.
   */
  urlSource?: DatabaseUrlSource | undefined;
  /** Where pool events (a URL change, refused credentials) are logged. */
  log?: Logger | undefined;
}

export async function openDatabase(config: DatabaseConfig, options: OpenDatabaseOptions = {}): Promise<Database> {
  const url = config.databaseUrl;
  return url === undefined ? openPGlite(resolve(config.dataDir)) : openPostgres(config, url, options);
}

async function openPGlite(dataDir: string): Promise<Database> {
  const { PGlite } = await loadOptionalPackage<typeof PGliteModule>("@electric-sql/pglite", "The embedded database (no DATABASE_URL)");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const release = lockDataDir(join(dataDir, "pgdata.lock"));
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(join(dataDir, "pgdata"), { parsers: { [INT8_OID]: parseInt8 } });
  } catch (err) {
    release();
    throw err;
  }
  const kysely = new Kysely<Tables>({ dialect: new PGliteDialect(pglite) });
  let waiting = 0;
  return {
    kind: "pglite",
    kysely,
    async ping() {
      waiting++;
      try {
        await sql`select 1`.execute(kysely);
      } finally {
        waiting--;
      }
    },
    poolStats: () => ({ total: 1, idle: waiting === 0 ? 1 : 0, waiting }),
    async close() {
      try {
        await kysely.destroy();
      } finally {
        release();
      }
    },
  };
}

/**
 * pg's TLS options for DATABASE_SSL. `disable` is explicit, so that PGSSLMODE
 * in the environment cannot turn TLS on or off behind the configuration.
 */
function sslOptions(config: DatabaseConfig): pg.PoolConfig["ssl"] {
  switch (config.databaseSsl) {
    case "disable":
      return false;
    case "require":
      // Encrypts the connection without verifying the server (libpq's sslmode=require).
      return { rejectUnauthorized: false };
    case "verify-full":
      // Node checks the chain against the CA and the host name (or IP) against the certificate's names.
      return { rejectUnauthorized: true, ...(config.databaseSslCa !== undefined ? { ca: readCa(config.databaseSslCa) } : {}) };
  }
}

function readCa(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new Error(`DATABASE_SSL_CA: cannot read the CA bundle ${file} (${typeof code === "string" ? code : "unreadable"})`, { cause: err });
  }
}

function openPostgres(config: DatabaseConfig, url: string, options: OpenDatabaseOptions): Database {
  const connections = new PostgresConnections({
    url,
    source: options.urlSource,
    max: config.databasePoolMax,
    ssl: sslOptions(config),
    context: { source: options.urlSource?.label ?? "DATABASE_URL", ssl: config.databaseSsl, caFile: config.databaseSslCa },
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
    log: options.log,
  });
  const kysely = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: connections }) });
  return {
    kind: "postgres",
    kysely,
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    poolStats: () => connections.stats(),
    async close() {
      await kysely.destroy();
    },
  };
}
