/**
 * Runs once before the suite: in CI the PostgreSQL and Redis services are
 * required, and a missing or unreachable one fails the run instead of letting
 * the integration tests quietly run in one mode only.
 *
 * It also initializes one empty embedded cluster (PGlite's initdb, a few
 * seconds of CPU) that createTestEnv copies into each embedded test's data
 * directory: the copy is what initdb would write, so every test still starts
 * on a cluster without tables, migrations or keys, and runs its first start
 * itself (migrations, key creation, bootstrap) — only initdb is shared.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { Redis } from "ioredis";

export const PGDATA_TEMPLATE_ENV = "RAMPART_TEST_PGDATA_TEMPLATE";

export default async function setup(): Promise<() => void> {
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
  const cluster = await PGlite.create(join(template, "pgdata"));
  await cluster.close();
  // Test workers are forked after this and inherit the variable.
  process.env[PGDATA_TEMPLATE_ENV] = join(template, "pgdata");
  return () => rmSync(template, { recursive: true, force: true });
}
