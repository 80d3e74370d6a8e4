/**
 * Runs once before the suite: in CI the PostgreSQL and Redis services are
 * required, and a missing or unreachable one fails the run instead of letting
 * the integration tests quietly run in one mode only.
 *
 * It also prepares two templates that createTestEnv copies for each test: an
 * embedded cluster (PGlite's initdb, a few seconds of CPU) and, with the
 * services, a PostgreSQL database (`CREATE DATABASE ... TEMPLATE`). Both hold
 * the migrated schema and nothing else — no rows, no keys — so every test
 * still runs its own first start (key creation, bootstrap) on stores no other
 * test touches; an unmigrated copy of the embedded cluster is kept for the
 * tests of migrations themselves.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { TestProject } from "vitest/node";
import pg from "pg";
import { Redis } from "ioredis";
import { loadConfig } from "../src/config/index.js";
import { migrateToLatest, openDatabase } from "../src/db/index.js";
import { CHILD_COVERAGE_ENV } from "./helpers/process.js";

export const PGDATA_TEMPLATE_ENV = "RAMPART_TEST_PGDATA_TEMPLATE";
/** The migrated embedded cluster (PGDATA_TEMPLATE_ENV is the unmigrated one). */
export const PGDATA_MIGRATED_ENV = "RAMPART_TEST_PGDATA_MIGRATED";
/** The migrated PostgreSQL template database, with the services. */
export const PG_TEMPLATE_DB_ENV = "RAMPART_TEST_PG_TEMPLATE";

/**
 * Where children write their coverage during a coverage run (scripts/coverage.mjs reads it):
 * .coverage-children, or DIR/children with RAMPART_COVERAGE_DIR=DIR (a run of a few files
 * beside another, with `--coverage.reportsDirectory=DIR/workers`).
 */
const CHILD_COVERAGE_DIR = process.env.RAMPART_COVERAGE_DIR ? join(process.env.RAMPART_COVERAGE_DIR, "children") : fileURLToPath(new URL("../.coverage-children", import.meta.url));

/** statfs(2) type of tmpfs. */
const TMPFS_MAGIC = 0x01021994;

/**
 * Where the suite's temporary files go: a directory of its own, on a memory
 * file system when the machine has one (/dev/shm). Every test copies an
 * embedded cluster (39 MB in about 970 files) into its data directory, which
 * cost about 0.9 s of kernel time per copy on this machine's disk against 0.08 s
 * in memory, and PGlite's writes and fsyncs are as cheap there. The directory
 * is removed at the end of the run.
 */
function scratchRoot(): string {
  try {
    if (statfsSync("/dev/shm").type === TMPFS_MAGIC) return "/dev/shm";
  } catch {
    // no /dev/shm: the system's temporary directory
  }
  return tmpdir();
}

export default async function setup(project: TestProject): Promise<() => void> {
  // os.tmpdir() reads TMPDIR: the test workers, forked after this, inherit it.
  const scratch = mkdtempSync(join(scratchRoot(), "rampart-suite-"));
  // Open like /tmp: the PostgreSQL servers some tests start run as another user (postgres).
  chmodSync(scratch, 0o1777);
  process.env.TMPDIR = scratch;
  if (project.config.coverage.enabled) {
    // Child processes (the CLI, served instances) are measured too: test/helpers/process.ts
    // gives them NODE_V8_COVERAGE pointing here.
    rmSync(CHILD_COVERAGE_DIR, { recursive: true, force: true });
    mkdirSync(CHILD_COVERAGE_DIR, { recursive: true });
    process.env[CHILD_COVERAGE_ENV] = CHILD_COVERAGE_DIR;
  }
  const dbUrl = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (process.env.CI === "true" && (!dbUrl || !redisUrl)) {
    throw new Error("CI=true requires TEST_DATABASE_URL and TEST_REDIS_URL: the suite runs in both modes in CI");
  }
  if (dbUrl) {
    const client = new pg.Client({ connectionString: dbUrl, connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      await client.query("select 1");
    } catch (err) {
      throw new Error(`TEST_DATABASE_URL is set but PostgreSQL is unreachable: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  if (redisUrl) {
    const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 5_000, retryStrategy: () => null });
    try {
      await r.connect();
      await r.ping();
    } catch (err) {
      throw new Error(`TEST_REDIS_URL is set but Redis is unreachable: ${(err as Error).message}`);
    } finally {
      r.disconnect();
    }
  }
  const template = mkdtempSync(join(tmpdir(), "rampart-pgdata-template-"));
  mkdirSync(join(template, "empty"));
  const cluster = await PGlite.create(join(template, "empty", "pgdata"));
  await cluster.close();
  cpSync(join(template, "empty"), join(template, "migrated"), { recursive: true });
  await migrated({ dataDir: join(template, "migrated") });
  let pgTemplate: string | undefined;
  if (dbUrl) {
    pgTemplate = `rampart_tpl_${randomBytes(6).toString("hex")}`;
    await adminQuery(dbUrl, `create database ${pgTemplate}`);
    const u = new URL(dbUrl);
    u.pathname = `/${pgTemplate}`;
    await migrated({ dataDir: template, databaseUrl: u.toString() });
  }
  // Test workers are forked after this and inherit the variables.
  process.env[PGDATA_TEMPLATE_ENV] = join(template, "empty", "pgdata");
  process.env[PGDATA_MIGRATED_ENV] = join(template, "migrated", "pgdata");
  if (pgTemplate) process.env[PG_TEMPLATE_DB_ENV] = pgTemplate;
  return async () => {
    rmSync(scratch, { recursive: true, force: true });
    if (dbUrl && pgTemplate) await adminQuery(dbUrl, `drop database if exists ${pgTemplate} with (force)`);
  };
}

/** Applies every migration to the database of `config` and closes it. */
async function migrated(stores: { dataDir: string; databaseUrl?: string }): Promise<void> {
  const db = await openDatabase(loadConfig({ RAMPART_DATA_DIR: stores.dataDir, ...(stores.databaseUrl ? { DATABASE_URL: stores.databaseUrl } : {}) }));
  try {
    await migrateToLatest(db.kysely);
  } finally {
    await db.close();
  }
}

async function adminQuery(url: string, statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}
