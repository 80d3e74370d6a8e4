/**
 * PostgreSQL unreachable is an outage, answered `503 SERVICE_UNAVAILABLE` with
 * `Retry-After`, never `500` (registrations answered 500 INTERNAL_ERROR
 * before). A server runs behind a TCP proxy to PostgreSQL that the test cuts
 * while a steady mix of registrations, `GET /v1/me` and `GET
 * /v1/auth/sessions` runs: every answer is a success or a 503 with
 * Retry-After, readiness names the database, the server serves again soon
 * after the proxy is back (measured), and every registration it acknowledged
 * is in the database. A backend terminated by the server itself is the same
 * kind of failure.
 */
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { DatabaseUnavailableError, openDatabase } from "../../src/db/index.js";
import { serve, type RunningServer } from "../../src/server/serve.js";
import { credentials } from "../helpers/api.js";
import { pollUntil, sleep } from "../helpers/async.js";
import { LogCapture } from "../helpers/logs.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { ControlledProxy } from "../helpers/proxy.js";
import { serviceUrl } from "../helpers/services.js";

/** What recovery must stay under once the database is reachable again. */
const RECOVERY_BOUND_MS = 5_000;

const ROUTES = {
  register: { method: "POST", url: "/v1/auth/register" },
  // Served from the instance's cache of the user while it is warm: it may stay 200 through the outage.
  me: { method: "GET", url: "/v1/me" },
  // Read from the database on every call.
  sessions: { method: "GET", url: "/v1/auth/sessions" },
} as const;
type Kind = keyof typeof ROUTES;
/** The routes that cannot answer without the database: each must have answered 503 during the outage. */
const NEEDS_DATABASE: readonly Kind[] = ["register", "sessions"];

interface Outcome {
  kind: Kind;
  /** When the request was sent and answered (ms since the test's start). */
  sent: number;
  answered: number;
  status: number;
  code: string | undefined;
  retryAfter: string | null;
  email?: string;
}

describe("PostgreSQL unreachable under load", { timeout: 180_000 }, () => {
  let env: TestEnv;
  let proxy: ControlledProxy;
  let server: RunningServer;
  const logs = new LogCapture();
  const t0 = Date.now();
  const now = () => Date.now() - t0;

  beforeAll(async () => {
    env = await createTestEnv("postgres");
    const direct = new URL(env.env.DATABASE_URL!);
    proxy = await ControlledProxy.create({ host: direct.hostname, port: Number(direct.port || 5432) });
    await proxy.up();
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const config = loadConfig({ ...env.env, DATABASE_URL: viaProxy.toString(), HEALTH_CHECK_TIMEOUT_MS: "500" });
    server = await serve(config, { runtime: { env: env.env, logDestination: logs } });
  });
  afterAll(async () => {
    await server?.shutdown();
    await proxy?.down();
    await env?.cleanup();
  });

  async function send(kind: Kind, token: string): Promise<Outcome> {
    const sent = now();
    const creds = kind === "register" ? credentials() : undefined;
    const res = await fetch(`${server.url}${ROUTES[kind].url}`, {
      method: ROUTES[kind].method,
      headers: kind === "register" ? { "content-type": "application/json" } : { authorization: `Bearer ${token}` },
      ...(creds ? { body: JSON.stringify(creds) } : {}),
    });
    const body = (await res.json()) as { code?: string };
    return { kind, sent, answered: now(), status: res.status, code: body.code, retryAfter: res.headers.get("retry-after"), ...(creds ? { email: creds.email } : {}) };
  }

  async function ready(): Promise<{ status: number; checks: Record<string, { status: string }[]> }> {
    const res = await fetch(`${server.url}/health/ready`);
    return { status: res.status, checks: ((await res.json()) as { checks: Record<string, { status: string }[]> }).checks };
  }

  it("answers 2xx or 503 with Retry-After throughout, names the database in readiness, recovers in bounded time and loses no acknowledged registration", async () => {
    const creds = credentials();
    expect((await fetch(`${server.url}/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(creds) })).status).toBe(202);
    const login = await fetch(`${server.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(creds) });
    const token = ((await login.json()) as { data: { accessToken: string } }).data.accessToken;

    // A steady mix: two clients registering, one on each read route, each pausing a little between requests.
    const outcomes: Outcome[] = [];
    let running = true;
    const client = async (kind: Kind) => {
      while (running) {
        outcomes.push(await send(kind, token));
        await sleep(25);
      }
    };
    const clients = [client("register"), client("register"), client("me"), client("sessions")];

    // Each phase lasts until every kind was seen in it (bounded), however slow the machine is.
    const seen = (pred: (o: Outcome) => boolean, kinds: readonly Kind[]) => async () => kinds.every((kind) => outcomes.some((o) => o.kind === kind && pred(o)));
    const phase = (check: () => Promise<boolean>) => pollUntil(check, (ok) => ok, 30_000);
    await phase(seen((o) => o.status < 300, Object.keys(ROUTES) as Kind[]));
    await sleep(500);
    const cut = now();
    await proxy.down();
    // PostgreSQL is shared by every instance: readiness warns (200), the routes that need it answer 503.
    const down = await pollUntil(ready, (r) => r.checks["database:responseTime"]![0]!.status !== "pass");
    expect(down.status).toBe(200);
    expect(down.checks["database:responseTime"]![0]!.status).toBe("warn");
    expect(down.checks["kv:responseTime"]![0]!.status).toBe("pass");
    await phase(seen((o) => o.sent > cut && o.status === 503, NEEDS_DATABASE));
    await sleep(1_000);

    const restored = now();
    await proxy.up();
    // Recovered once a request of each kind sent after the restore succeeds.
    const recovered = await pollUntil(
      async () => (Object.keys(ROUTES) as Kind[]).every((kind) => outcomes.some((o) => o.kind === kind && o.sent >= restored && o.status < 300)),
      (ok) => ok,
      RECOVERY_BOUND_MS * 2,
    );
    const recoveryMs = now() - restored;
    expect(recovered, `no success within ${recoveryMs} ms of the restore`).toBe(true);
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
    await sleep(1_000);
    running = false;
    await Promise.all(clients);

    // Every answer: a success, or a 503 SERVICE_UNAVAILABLE with a Retry-After in seconds.
    const unexpected = outcomes.filter((o) => !(o.status === 200 || o.status === 202 || (o.status === 503 && o.code === "SERVICE_UNAVAILABLE" && /^[1-9]\d*$/.test(o.retryAfter ?? ""))));
    expect(unexpected).toEqual([]);
    for (const kind of Object.keys(ROUTES) as Kind[]) {
      const mine = outcomes.filter((o) => o.kind === kind);
      expect(mine.some((o) => o.answered < cut && o.status < 300), `${kind} succeeded before the cut`).toBe(true);
      expect(mine.some((o) => o.sent >= restored && o.status < 300), `${kind} succeeded after the restore`).toBe(true);
    }
    for (const kind of NEEDS_DATABASE) {
      expect(
        outcomes.some((o) => o.kind === kind && o.sent > cut && o.answered < restored && o.status === 503),
        `${kind} answered 503 during the outage`,
      ).toBe(true);
    }
    expect((await ready()).status).toBe(200);

    // No lost writes: every acknowledged registration, before, during and after the outage, is in the database.
    const acknowledged = outcomes.filter((o) => o.kind === "register" && o.status === 202);
    expect(acknowledged.length).toBeGreaterThan(2);
    const { identity } = server.app;
    const missing: string[] = [];
    for (const o of acknowledged) if (!(await identity.users.findByEmail(server.runtime.db.kysely, o.email!))) missing.push(o.email!);
    expect(missing).toEqual([]);

    // Logged as an outage at warn with its cause, never as an unhandled error.
    const records = logs.records();
    const outage = records.filter((r) => r.level === "warn" && (r.err as { type?: string } | undefined)?.type === "DatabaseUnavailableError");
    expect(outage.length).toBeGreaterThan(0);
    expect(String((outage[0]!.err as { message: string }).message)).toMatch(/^database unavailable \((ECONNREFUSED|ECONNRESET|Connection terminated.*|Client has encountered a connection error and is not queryable)\): /);
    expect(records.filter((r) => r.msg === "unhandled error")).toEqual([]);
  });
});

describe("a backend terminated by the server", () => {
  it("is a DatabaseUnavailableError, and the pool serves again on the next query", async () => {
    const env = await createTestEnv("postgres");
    const db = await openDatabase(env.config);
    const admin = new pg.Client({ connectionString: serviceUrl("TEST_DATABASE_URL") });
    await admin.connect();
    try {
      const err = await db.kysely
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          const pid = rows[0]!.pid;
          await admin.query("select pg_terminate_backend($1)", [pid]);
          // Terminating is a signal: wait until the backend is gone, so the next query meets a dead connection.
          await pollUntil(async () => (await admin.query("select 1 from pg_stat_activity where pid = $1", [pid])).rowCount, (n) => n === 0);
          await trx.selectFrom("rampart_users").select("id").execute();
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseUnavailableError);
      const cause = (err as Error).cause as { code?: string; message: string };
      // Depending on what reached the client first: the server's 57P01 admin_shutdown, the closed
      // socket, or pg's refusal of a client whose connection already failed.
      const forms = [cause.code === "57P01", cause.code === "ECONNRESET", /^Connection terminated/.test(cause.message), /is not queryable$/.test(cause.message)];
      expect(forms.some(Boolean), cause.message).toBe(true);
      expect((err as DatabaseUnavailableError).headers).toEqual({ "retry-after": "5" });
      await expect(db.ping()).resolves.toBeUndefined();
    } finally {
      await admin.end();
      await db.close();
      await env.cleanup();
    }
  });
});
