/**
 * Connection URLs from the secrets providers, and the database password
 * rotated while the server runs. A PostgreSQL server the test starts
 * (test/helpers/pg-server.ts) checks passwords on TCP (scram-sha-256; the
 * shared test server trusts loopback, where no password could be wrong).
 * DATABASE_URL, REDIS_URL and SMTP_URL are unset: `rampart migrate` and the
 * server read `database-url`, `redis-url` and `smtp-url` from a `files:`
 * directory, as a mounted Kubernetes or Docker secret presents them.
 *
 * Under a steady load the role's password is changed (ALTER ROLE), idle
 * backends are terminated so that new connections are needed at once, and
 * the secret file is rewritten a moment later: every request succeeds or at
 * most answers 503 (never 500), new connections authenticate with the new
 * password, and the server was never restarted. A password the secret does
 * not follow answers 503 with Retry-After until the file is fixed, then the
 * server serves again by itself.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { AUTH_RETRY_MS } from "../../src/db/index.js";
import { serve, type RunningServer } from "../../src/server/serve.js";
import { credentials } from "../helpers/api.js";
import { pollUntil, sleep } from "../helpers/async.js";
import { LogCapture } from "../helpers/logs.js";
import { sharedDatabaseSettings } from "../helpers/modes.js";
import { startPgServer, type PgServer } from "../helpers/pg-server.js";
import { runCli } from "../helpers/process.js";
import { dropPrefix, freshPrefix } from "../helpers/redis.js";
import { serviceUrl } from "../helpers/services.js";
import { SmtpPeer } from "../mail/smtp-peer.js";

interface Outcome {
  sent: number;
  answered: number;
  status: number;
  code: string | undefined;
  retryAfter: string | null;
}

describe("connection URLs from a files: secrets directory, and a database password rotated under load", { timeout: 90_000 }, () => {
  const id = randomBytes(4).toString("hex");
  const role = `rampart_rot_${id}`;
  const database = `rampart_rot_${id}`;
  const passwords = [1, 2, 3].map(() => `pw-${randomBytes(12).toString("hex")}`) as [string, string, string];
  const redisUrl = serviceUrl("TEST_REDIS_URL");
  const prefix = freshPrefix();
  const logs = new LogCapture();
  let pgServer: PgServer;
  let smtp: SmtpPeer;
  let secretsDir: string;
  let dataDir: string;
  let env: Record<string, string>;
  let server: RunningServer | undefined;
  const t0 = Date.now();
  const now = () => Date.now() - t0;

  /** Rewrites a secret file atomically, as the kubelet swaps a mounted secret. */
  function putSecret(name: string, value: string): void {
    const tmp = join(secretsDir, `.${name}.${randomBytes(4).toString("hex")}`);
    writeFileSync(tmp, `${value}\n`);
    renameSync(tmp, join(secretsDir, name));
  }
  const databaseUrl = (password: string) => pgServer.url(role, password, database);

  /** Whether PostgreSQL accepts `password` for the role on a new TCP connection (the check the test relies on). */
  async function accepts(password: string): Promise<string> {
    const c = new pg.Client({ connectionString: databaseUrl(password) });
    c.on("error", () => undefined);
    try {
      await c.connect();
      await c.end();
      return "accepted";
    } catch (err) {
      return (err as { code?: string }).code ?? "error";
    }
  }

  beforeAll(async () => {
    pgServer = await startPgServer({ hostAuth: "scram-sha-256" });
    await pgServer.query(`create role ${role} login password '${passwords[0]}'`);
    await pgServer.query(`create database ${database} owner ${role}`);
    smtp = await SmtpPeer.start();
    secretsDir = mkdtempSync(join(tmpdir(), "rampart-rotation-secrets-"));
    dataDir = mkdtempSync(join(tmpdir(), "rampart-rotation-data-"));
    putSecret("database-url", databaseUrl(passwords[0]));
    putSecret("redis-url", redisUrl);
    putSecret("smtp-url", smtp.url);
    env = {
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      PORT: "0",
      RATE_LIMIT_ENABLED: "false",
      RAMPART_DATA_DIR: dataDir,
      RAMPART_SECRETS: `files:${secretsDir},env`,
      REDIS_PREFIX: prefix,
      DATABASE_POOL_MAX: "4",
      ...sharedDatabaseSettings(database),
    };
  });
  afterAll(async () => {
    await server?.shutdown();
    await smtp?.close();
    await pgServer?.stop();
    await dropPrefix(redisUrl, prefix).catch(() => undefined);
    for (const d of [secretsDir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("rampart migrate reads database-url from the files: provider (no DATABASE_URL)", async () => {
    expect(await accepts(`not-${passwords[0]}`)).toBe("28P01");
    const r = await runCli(["migrate"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^applied: 0001-foundation, /);
    const [row] = await pgServer.query<{ n: string }>("select count(*) as n from rampart_migrations", [], database);
    expect(Number(row!.n)).toBeGreaterThan(10);
  });

  it("the server takes database-url, redis-url and smtp-url from the files: provider", async () => {
    server = await serve(loadConfig(env), { runtime: { env, logDestination: logs } });
    const { runtime } = server;
    expect([runtime.db.kind, runtime.kv.kind]).toEqual(["postgres", "redis"]);
    expect([runtime.config.databaseUrl, runtime.config.redisUrl, runtime.config.smtpUrl]).toEqual([databaseUrl(passwords[0]), redisUrl, smtp.url]);

    const creds = credentials();
    const post = (path: string, body: unknown) => fetch(`${server!.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await post("/v1/auth/register", creds)).status).toBe(202);
    // Mail goes to the SMTP server of smtp-url.
    expect((await post("/v1/auth/password/forgot", { email: creds.email })).status).toBe(202);
    const delivered = await pollUntil(async () => smtp.received.filter((m) => m.to.includes(creds.email)).length, (n) => n > 0);
    expect(delivered).toBeGreaterThan(0);
    // A failed login is counted in Redis (lockout), under this server's prefix of redis-url's server.
    expect((await post("/v1/auth/login", { ...creds, password: "wrong password entirely" })).status).toBe(401);
    const redis = new Redis(redisUrl);
    try {
      expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  describe("with the server running", () => {
    let token: string;
    const outcomes: Outcome[] = [];
    let running = false;
    let clients: Promise<void>[] = [];

    async function send(): Promise<Outcome> {
      const sent = now();
      const res = await fetch(`${server!.url}/v1/auth/sessions`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { code?: string };
      return { sent, answered: now(), status: res.status, code: body.code, retryAfter: res.headers.get("retry-after") };
    }
    function startLoad(): void {
      running = true;
      // Four clients against a pool of four connections: a steady load that keeps every connection busy.
      clients = [0, 1, 2, 3].map(async () => {
        while (running) {
          outcomes.push(await send());
          await sleep(10);
        }
      });
    }
    async function stopLoad(): Promise<void> {
      running = false;
      await Promise.all(clients);
    }
    /** Ends the role's idle backends: the pool must open new connections, which authenticate with the current password. */
    const terminateIdle = () => pgServer.query("select pg_terminate_backend(pid) from pg_stat_activity where usename = $1 and state = 'idle'", [role]);
    const terminateAll = () => pgServer.query("select pg_terminate_backend(pid) from pg_stat_activity where usename = $1", [role]);
    const newBackendsSince = async (at: Date) => Number((await pgServer.query<{ n: string }>("select count(*) as n from pg_stat_activity where usename = $1 and backend_start > $2", [role, at]))[0]!.n);

    beforeAll(async () => {
      const creds = credentials();
      const post = (path: string) => fetch(`${server!.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(creds) });
      expect((await post("/v1/auth/register")).status).toBe(202);
      token = ((await (await post("/v1/auth/login")).json()) as { data: { accessToken: string } }).data.accessToken;
    });
    afterAll(() => stopLoad());

    it("picks up a rotated password from the rewritten secret under load: no 500, new connections use the new password, no restart", async () => {
      startLoad();
      await pollUntil(async () => outcomes.filter((o) => o.status === 200).length, (n) => n >= 20, 20_000);
      const changedAt = new Date();
      const changed = now();
      await pgServer.query(`alter role ${role} password '${passwords[1]}'`);
      expect(await accepts(passwords[0])).toBe("28P01");
      await terminateIdle();
      // The secret store lags the database by a moment: new connections are refused meanwhile.
      await sleep(600);
      putSecret("database-url", databaseUrl(passwords[1]));
      const rewritten = now();
      await pollUntil(async () => outcomes.filter((o) => o.sent > rewritten + 500 && o.status === 200).length, (n) => n >= 20, 20_000);
      await stopLoad();

      const unexpected = outcomes.filter((o) => !(o.status === 200 || (o.status === 503 && o.code === "SERVICE_UNAVAILABLE" && /^[1-9]\d*$/.test(o.retryAfter ?? ""))));
      expect(unexpected).toEqual([]);
      // A 503 can only come from the switch: a backend terminated as it took a query, or a connection refused before the file changed.
      expect(outcomes.filter((o) => o.status === 503 && (o.answered < changed || o.sent > rewritten + AUTH_RETRY_MS))).toEqual([]);
      expect(outcomes.filter((o) => o.sent > rewritten + 500).every((o) => o.status === 200)).toBe(true);
      // New connections were opened after the change, so with the new password (the old one is refused).
      expect(await newBackendsSince(changedAt)).toBeGreaterThan(0);
      const events = logs.records().map((r) => r.event);
      expect(events).toContain("database.credentials_refused");
      expect(events).toContain("database.url_changed");
      // Neither password is ever written to the log.
      for (const p of passwords.slice(0, 2)) expect(logs.text).not.toContain(p);
      expect(server!.runtime.config.databaseUrl).toBe(databaseUrl(passwords[0]));
    });

    it("answers 503 with Retry-After while the secret holds a refused password, and serves again once it is fixed", async () => {
      await pgServer.query(`alter role ${role} password '${passwords[2]}'`);
      await terminateAll();
      // An idle pooled connection whose backend was just terminated can still be checked out before the
      // pool has seen it die: its query fails at once (503, the connection is gone). At most one per
      // pooled connection; then a new connection is needed, and its password is refused.
      let first = await send();
      for (let killed = 0; first.answered - first.sent < AUTH_RETRY_MS - 500 && killed < 4; killed++) {
        expect(first).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE" });
        first = await send();
      }
      // The secret is re-read for a while before the request gives up.
      expect(first).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE" });
      expect(first.retryAfter).toMatch(/^[1-9]\d*$/);
      expect(first.answered - first.sent).toBeGreaterThanOrEqual(AUTH_RETRY_MS - 500);
      // Past that window, requests fail at once instead of piling up.
      const later = await send();
      expect(later).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE" });
      expect(later.answered - later.sent).toBeLessThan(AUTH_RETRY_MS);

      putSecret("database-url", databaseUrl(passwords[2]));
      const fixed = now();
      const back = await pollUntil(send, (o) => o.status === 200, 10_000);
      expect(back.status).toBe(200);
      expect(back.answered - fixed).toBeLessThan(5_000);
      expect(logs.text).not.toContain(passwords[2]);
    });

    it("moves to a second login role named by the rotated secret, then the first can be disabled, without a failed request", async () => {
      const second = `${role}_b`;
      const secondPassword = `pw-${randomBytes(12).toString("hex")}`;
      // Two login roles acting as one owner of the schema (docs/secrets.md, rotation with two roles).
      await pgServer.query(`create role ${second} login password '${secondPassword}' in role ${role}`);
      await pgServer.query(`alter role ${second} set role = '${role}'`);
      outcomes.length = 0;
      startLoad();
      await pollUntil(async () => outcomes.filter((o) => o.status === 200).length, (n) => n >= 10, 20_000);
      putSecret("database-url", pgServer.url(second, secondPassword, database));
      // What the cache's refresh timer does once the entry is due: a reload that finds a new value.
      await server!.runtime.secrets.refresh("database-url");
      const switched = now();
      await pollUntil(async () => outcomes.filter((o) => o.sent > switched && o.status === 200).length, (n) => n >= 10, 20_000);
      // The first role is retired: no login, its sessions ended.
      await pgServer.query(`alter role ${role} nologin`);
      await terminateAll();
      const retired = now();
      await pollUntil(async () => outcomes.filter((o) => o.sent > retired && o.status === 200).length, (n) => n >= 20, 20_000);
      await stopLoad();
      expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
      const backends = await pgServer.query<{ usename: string }>("select usename from pg_stat_activity where datname = $1 and backend_type = 'client backend'", [database]);
      expect(new Set(backends.map((b) => b.usename))).toEqual(new Set([second]));
      expect(logs.text).not.toContain(secondPassword);
    });
  });
});
