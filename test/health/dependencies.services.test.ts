/**
 * The storage readiness checks against real servers: PostgreSQL or Redis
 * unreachable is `warn` naming the dependency (shared by every instance:
 * readiness stays 200), while a PostgreSQL server that answers and refuses
 * this instance (a role it does not know, a database that does not exist
 * for it) is `fail`, naming the SQLSTATE and nothing else.
 */
import { createServer } from "node:net";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/index.js";
import { runChecks } from "../../src/health/checks.js";
import { databaseCheck, kvCheck } from "../../src/health/dependencies.js";
import { RedisKv } from "../../src/kv/index.js";
import { serviceUrl } from "../helpers/services.js";
import { freshPrefix } from "../helpers/redis.js";

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("storage readiness checks", () => {
  const opened: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const o of opened) await o.close();
  });
  const open = async (url: string): Promise<Database> => {
    const db = await openDatabase({ databaseUrl: url, databasePoolMax: 1, databaseSsl: "disable", databaseSslCa: undefined, dataDir: "/nonexistent" });
    opened.push(db);
    return db;
  };
  const check = async (c: Parameters<typeof runChecks>[0][number]) => (await runChecks([c], { timeoutMs: 3_000 })).checks[`${c.name}:responseTime`]![0]!;

  it("PostgreSQL reachable: pass", async () => {
    expect(await check(databaseCheck(await open(serviceUrl("TEST_DATABASE_URL"))))).toMatchObject({ componentId: "database", status: "pass" });
  });

  it("PostgreSQL unreachable: warn, naming postgresql", async () => {
    const url = new URL(serviceUrl("TEST_DATABASE_URL"));
    url.host = `127.0.0.1:${await closedPort()}`;
    const r = await check(databaseCheck(await open(url.toString())));
    expect(r).toMatchObject({ status: "warn", output: "postgresql unreachable; shared by every instance, this one keeps serving what does not need it" });
  });

  it("PostgreSQL refusing this instance (unknown role, missing database): fail with the SQLSTATE only", async () => {
    const role = new URL(serviceUrl("TEST_DATABASE_URL"));
    role.username = "rampart_no_such_role";
    expect(await check(databaseCheck(await open(role.toString())))).toMatchObject({ status: "fail", output: "postgresql refused this instance (28000)" });
    const database = new URL(serviceUrl("TEST_DATABASE_URL"));
    database.pathname = "/rampart_no_such_database";
    const r = await check(databaseCheck(await open(database.toString())));
    expect(r).toMatchObject({ status: "fail", output: "postgresql refused this instance (3D000)" });
    expect(JSON.stringify(r)).not.toContain("rampart_no_such");
  });

  it("Redis unreachable: warn, naming redis", async () => {
    const kv = new RedisKv({ url: `redis://127.0.0.1:${await closedPort()}`, prefix: freshPrefix(), log: pino({ level: "silent" }) });
    opened.push(kv);
    expect(await check(kvCheck(kv))).toMatchObject({ componentId: "kv", status: "warn", output: "redis unreachable; shared by every instance, this one keeps serving what does not need it" });
  });
});
