/**
 * The two storage modes every integration test runs in: `embedded` (PGlite in a
 * temporary data dir, in-memory kv) and `postgres` (a fresh PostgreSQL database
 * and a unique Redis key prefix per test runtime, dropped afterwards), the
 * latter when TEST_DATABASE_URL and TEST_REDIS_URL are set (always in CI).
 *
 * A runtime refuses a PostgreSQL database without configured keys and public
 * URL (instances share it), so the `postgres` mode gives each test database
 * its own: derived from the database name, hence the same for every runtime
 * the test starts on it (two instances on one database share them, as in a
 * deployment). A test's overrides replace them, and a test of the refusals
 * removes them with `undefined` overrides.
 */
import { createHash, randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { vi } from "vitest";
import { loadConfig, type Config } from "../../src/config/index.js";
import { PG_TEMPLATE_DB_ENV, PGDATA_MIGRATED_ENV, PGDATA_TEMPLATE_ENV } from "../global-setup.js";
import { dropPrefix } from "./redis.js";

export type ModeName = "embedded" | "postgres";

export function testModes(): ModeName[] {
  return process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL ? ["embedded", "postgres"] : ["embedded"];
}

export interface TestEnv {
  mode: ModeName;
  /** Environment variables that point a runtime (or a child process) at this test's stores. */
  env: Record<string, string>;
  config: Config;
  cleanup(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The public URL the `postgres` mode gives its runtimes (`.test` is reserved: it never resolves). */
export const SHARED_DATABASE_PUBLIC_URL = "http://rampart.test";

/**
 * What every instance on the PostgreSQL database `database` must share: the
 * master and blind-index keys (from the `env` secrets provider, derived from
 * the database name) and the token issuer.
 */
export function sharedDatabaseSettings(database: string): Record<string, string> {
  const key = (name: string) => createHash("sha256").update(`rampart test ${name} of ${database}`).digest("hex");
  return {
    RAMPART_SECRET_MASTER_KEY: key("master-key"),
    RAMPART_SECRET_BLIND_INDEX_KEY: key("blind-index-key"),
    RAMPART_PUBLIC_URL: SHARED_DATABASE_PUBLIC_URL,
  };
}

export interface TestEnvOptions {
  /**
   * `migrated` (default): the stores start with Rampart's schema applied and
   * nothing else (copied from a template made once per run); `empty`: a fresh
   * cluster or database without tables, for the tests of migrations.
   */
  schema?: "migrated" | "empty";
}

/** Creates isolated stores for one test (or one describe block) in the given mode. */
export async function createTestEnv(mode: ModeName, overrides: Record<string, string | undefined> = {}, options: TestEnvOptions = {}): Promise<TestEnv> {
  const migrated = (options.schema ?? "migrated") === "migrated";
  const id = randomBytes(6).toString("hex");
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-test-"));
  // Rate limiting is off by default in tests (they log in many times from one IP);
  // the rate-limit tests turn it on.
  const env: Record<string, string> = { NODE_ENV: "test", LOG_LEVEL: "info", RAMPART_DATA_DIR: dataDir, PORT: "0", RATE_LIMIT_ENABLED: "false" };
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dataDir, { recursive: true, force: true })];
  // A cluster from test/global-setup.ts instead of running initdb (and the migrations) again.
  const template = process.env[migrated ? PGDATA_MIGRATED_ENV : PGDATA_TEMPLATE_ENV];
  if (mode === "embedded" && template) cpSync(template, join(dataDir, "pgdata"), { recursive: true });

  if (mode === "postgres") {
    const adminUrl = process.env.TEST_DATABASE_URL;
    const redisUrl = process.env.TEST_REDIS_URL;
    if (!adminUrl || !redisUrl) throw new Error("postgres mode needs TEST_DATABASE_URL and TEST_REDIS_URL");
    const database = `rampart_t_${id}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    const pgTemplate = migrated ? process.env[PG_TEMPLATE_DB_ENV] : undefined;
    await admin.query(pgTemplate ? `create database ${database} template ${pgTemplate}` : `create database ${database}`);
    await admin.end();
    const prefix = `rt:${id}:`;
    env.DATABASE_URL = withDatabase(adminUrl, database);
    env.REDIS_URL = redisUrl;
    env.REDIS_PREFIX = prefix;
    Object.assign(env, sharedDatabaseSettings(database));
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${database} with (force)`);
      await c.end();
    });
    cleanups.push(() => dropPrefix(redisUrl, prefix));
  }
  // An undefined override removes a setting (a test of what a missing one does).
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  // argon2id at 1 MiB and one pass instead of the production floor (19 MiB, two passes: about
  // 70 ms of CPU per hash on a 2-core machine): most tests hash to check what happens around the
  // hash. The hasher's own tests and the timing tests set the floor; production settings keep it,
  // as production's preflight requires.
  if (env.NODE_ENV !== "production") {
    env.ARGON2_MEMORY_KIB ??= "1024";
    env.ARGON2_ITERATIONS ??= "1";
  }
  const config = loadConfig(env);
  return {
    mode,
    env,
    config,
    async cleanup() {
      for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    },
  };
}

/**
 * Puts the test's secrets (`RAMPART_SECRET_*`: the keys of a PostgreSQL test
 * database) into process.env until `vi.unstubAllEnvs()`, for the path that
 * reads them there as a host app does: the rampart plugin building its own
 * runtime from `config`.
 */
export function stubSecretsEnv(env: TestEnv): void {
  for (const [name, value] of Object.entries(env.env)) if (name.startsWith("RAMPART_SECRET_")) vi.stubEnv(name, value);
}
