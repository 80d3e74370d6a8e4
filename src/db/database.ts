/**
 * Opens the database for a runtime: PostgreSQL through `pg` when DATABASE_URL
 * is set, otherwise PGlite in the data directory. Both are Kysely over the same
 * dialect, so every query and migration is written once. PGlite (26 MB of
 * WebAssembly) is an optional peer package, imported only in embedded mode.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type * as PGliteModule from "@electric-sql/pglite";
import type { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from "kysely";
import pg from "pg";
import type { Config } from "../config/index.js";
import { loadOptionalPackage } from "../config/optional-package.js";
import { lockDataDir } from "./data-dir-lock.js";
import { PGliteDialect } from "./pglite-dialect.js";
import type { Tables } from "./tables.js";
import { classifyDatabaseError } from "./unavailable.js";

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

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  const url = config.databaseUrl;
  return url === undefined ? openPGlite(resolve(config.dataDir)) : openPostgres(config, url);
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

function sslOptions(config: DatabaseConfig): pg.PoolConfig["ssl"] {
  switch (config.databaseSsl) {
    case "disable":
      return undefined;
    case "require":
      // Encrypts the connection without verifying the server (libpq's sslmode=require).
      return { rejectUnauthorized: false };
    case "verify-full":
      return { rejectUnauthorized: true, ...(config.databaseSslCa ? { ca: readFileSync(config.databaseSslCa, "utf8") } : {}) };
  }
}

async function openPostgres(config: DatabaseConfig, url: string): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: config.databasePoolMax,
    ssl: sslOptions(config),
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  // A client losing its connection (database restart, network cut) must not crash
  // the process: idle ones emit on the pool, busy ones on themselves; the query
  // in flight still fails with the error, and the pool replaces the client.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  const kysely = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: classifyingPool(pool) }) });
  return {
    kind: "postgres",
    kysely,
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      await kysely.destroy();
    },
  };
}

/**
 * The pool as Kysely sees it, with connection-level failures (a refused
 * connect, a connection cut mid-query, a checkout timeout) rethrown as
 * DatabaseUnavailableError: an outage answers 503, never 500. Query errors
 * (constraint violations, serialization failures) pass through unchanged, so
 * callers still read their SQLSTATE.
 */
function classifyingPool(pool: pg.Pool): PostgresPool {
  const rethrow = (err: unknown): never => {
    throw classifyDatabaseError(err);
  };
  // One adapter per pg client, as Kysely keeps one connection object per client it is given.
  const adapters = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const adapt = (client: pg.PoolClient): PostgresPoolClient => {
    let adapter = adapters.get(client);
    if (!adapter) {
      adapter = {
        // Text and parameters only: the dialect has no `cursor`, so Kysely never passes one.
        query: ((text: string, parameters: readonly unknown[]) => client.query(text, parameters as unknown[]).then(undefined, rethrow)) as PostgresPoolClient["query"],
        // pg-pool sets a fresh `release` on every checkout: look it up at call time.
        release: () => client.release(),
      };
      adapters.set(client, adapter);
    }
    return adapter;
  };
  return {
    connect: () => pool.connect().then(adapt, rethrow),
    end: () => pool.end(),
  };
}
