/**
 * `rampart serve --workers N`: a cluster primary and N worker processes on
 * one port, run as a user runs the CLI, against PostgreSQL and Redis.
 *
 * - requests are answered by two distinct worker processes, never by the
 *   primary (each worker's log lines carry its pid; responses carry none);
 * - the first worker migrates an empty database alone, before the others start;
 * - a worker killed with SIGKILL is replaced after 100 ms, one that dies
 *   again as soon as it serves after 200 ms (logged as a crash loop), and the
 *   replacement serves;
 * - SIGTERM on the primary fails readiness on every worker, lets an upload
 *   in flight finish, and the primary exits 0;
 * - a worker that cannot stop is killed after the grace period, and the
 *   primary exits 1;
 * - a first worker that cannot start ends the primary with its exit code;
 * - workers on the embedded database or the in-process kv are refused with
 *   exit code 2, naming what to set.
 */
import { request, type IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextRestart, RESTART_BACKOFF, STOP_MARGIN_MS } from "../../src/server/cluster.js";
import { filePart, multipart, png } from "../files/fixtures.js";
import { pollUntil, sleep } from "../helpers/async.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { runCli, spawnTs, type Spawned } from "../helpers/process.js";

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a connection of its own (the cluster hands each new connection to the next worker). */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

type LogLine = Record<string, unknown> & { msg?: string };

/** The JSON log lines a process wrote so far (the cluster's processes share its stdout). */
function logLines(p: Spawned): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of p.stdout().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // A line still being written.
    }
  }
  return lines;
}

/** The pid in the access log line of each request (by trace id), once the lines are written. */
async function servedBy(p: Spawned, traceIds: readonly string[]): Promise<(number | undefined)[]> {
  return pollUntil(
    async () => {
      const byTrace = new Map(logLines(p).flatMap((l) => (l.msg === "request" && typeof l.traceId === "string" ? [[l.traceId, l.pid as number] as const] : [])));
      return traceIds.map((t) => byTrace.get(t));
    },
    (pids) => pids.every((pid) => pid !== undefined),
  );
}

/** Sends `n` requests, each on its own connection, and returns the pid of the worker that answered each. */
async function spread(p: Spawned, url: string, n: number): Promise<(number | undefined)[]> {
  const traceIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await send(`${url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    traceIds.push(String(res.headers["x-request-id"]));
  }
  return servedBy(p, traceIds);
}

describe("worker restart back-off", () => {
  it("doubles from 100 ms per quick exit up to 30 s, and starts again after a stable run", () => {
    const delays: number[] = [];
    let failures = 0;
    for (let i = 0; i < 12; i++) {
      const next = nextRestart(failures, 50);
      delays.push(next.delayMs);
      failures = next.failures;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000, 30_000]);
    expect(nextRestart(failures, RESTART_BACKOFF.stableMs)).toEqual({ delayMs: 100, failures: 1 });
    expect(nextRestart(failures, RESTART_BACKOFF.stableMs - 1).delayMs).toBe(30_000);
  });
});

describe("rampart serve --workers 2 on PostgreSQL and Redis", { timeout: 120_000 }, () => {
  let env: TestEnv;
  let p: Spawned;
  let url: string;
  let workerPids: number[];

  beforeAll(async () => {
    // An empty database: the first worker applies the migrations, the second finds none pending.
    env = await createTestEnv("postgres", { SHUTDOWN_DRAIN_MS: "3000", SHUTDOWN_TIMEOUT_MS: "10000" }, { schema: "empty" });
    p = spawnTs("src/cli/main.ts", ["serve", "--workers", "2"], env.env);
    await p.waitFor(/"msg":"all workers serving"/, 90_000);
    // Each process batches its lines for up to 100 ms: the workers' own may follow the primary's.
    await pollUntil(async () => logLines(p).filter((l) => l.msg === "rampart listening").length, (n) => n === 2);
    const serving = logLines(p).find((l) => l.msg === "all workers serving")!;
    workerPids = serving.workerPids as number[];
    url = String(logLines(p).find((l) => l.msg === "rampart listening")!.url);
  }, 120_000);

  afterAll(async () => {
    if (p && p.child.exitCode === null && p.child.signalCode === null) {
      // Workers exit on their own once their primary is gone (node:cluster).
      p.child.kill("SIGKILL");
      await p.exit;
    }
    await env?.cleanup();
  });

  it("started two workers on one port, the first of them alone migrating the database", () => {
    const lines = logLines(p);
    const listening = lines.filter((l) => l.msg === "rampart listening");
    expect(listening.map((l) => l.pid).sort()).toEqual([...workerPids].sort());
    expect(new Set(listening.map((l) => l.url))).toEqual(new Set([url]));
    expect(new Set(workerPids).size).toBe(2);
    expect(workerPids).not.toContain(p.child.pid);
    const migrated = lines.filter((l) => l.msg === "migrations applied");
    expect(migrated).toHaveLength(1);
    expect(migrated[0]!.pid).toBe(workerPids[0]);
    // Migrated before the second worker was started: its first line comes later.
    const firstOfSecond = lines.findIndex((l) => l.pid === listening[1]!.pid);
    expect(lines.indexOf(migrated[0]!)).toBeLessThan(firstOfSecond);
  });

  it("answers requests from both workers, never from the primary", async () => {
    const pids = await spread(p, url, 12);
    expect(new Set(pids)).toEqual(new Set(workerPids));
  });

  it("replaces a worker killed with SIGKILL, backs off longer while its replacements keep dying, and the replacement serves", async () => {
    const [victim, survivor] = workerPids as [number, number];
    const known = new Set(workerPids);
    const nextReady = async () => {
      const pid = await pollUntil(
        async () => logLines(p).find((l) => l.msg === "worker ready" && !known.has(l.workerPid as number))?.workerPid as number | undefined,
        (found) => found !== undefined,
        60_000,
      );
      expect(pid, "a replacement reported ready").toBeTypeOf("number");
      known.add(pid!);
      return pid!;
    };
    const exits = () => logLines(p).filter((l) => typeof l.msg === "string" && l.msg.startsWith("worker exited"));

    process.kill(victim, "SIGKILL");
    await pollUntil(async () => exits().length, (n) => n === 1);
    expect(exits()[0]).toMatchObject({ level: "error", msg: "worker exited unexpectedly; replacing it", workerPid: victim, code: null, signal: "SIGKILL", ready: true, restartInMs: 100, consecutiveExits: 1 });
    const first = await nextReady();

    // Dead again as soon as it serves: a crash loop, and the next wait doubles.
    process.kill(first, "SIGKILL");
    await pollUntil(async () => exits().length, (n) => n === 2);
    expect(exits()[1]).toMatchObject({
      level: "error",
      msg: "worker exited again soon after its start (crash loop); replacing it after a back-off",
      workerPid: first,
      signal: "SIGKILL",
      restartInMs: 200,
      consecutiveExits: 2,
    });
    const second = await nextReady();

    const pids = await spread(p, url, 8);
    expect(new Set(pids)).toEqual(new Set([survivor, second]));
    workerPids = [survivor, second];
  }, 120_000);

  it("on SIGTERM fails readiness on every worker, finishes an upload in flight, and exits 0", async () => {
    const creds = { email: `workers.${Date.now()}@example.com`, password: "correct horse battery staple" };
    const json = { "content-type": "application/json" };
    expect((await send(`${url}/v1/auth/register`, { method: "POST", headers: json, body: JSON.stringify(creds) })).status).toBe(202);
    const login = await send(`${url}/v1/auth/login`, { method: "POST", headers: json, body: JSON.stringify(creds) });
    expect(login.status).toBe(200);
    const token = (JSON.parse(login.body) as { data: { accessToken: string } }).data.accessToken;

    // Half of the body before the signal, the rest once the shutdown has begun.
    const bytes = png({ pad: 64 * 1024 });
    const { payload, headers } = multipart([filePart("drain.png", bytes, "image/png")]);
    const half = Math.floor(payload.length / 2);
    const req = request(`${url}/v1/files`, { method: "POST", agent: false, headers: { ...headers, "content-length": String(payload.length), authorization: `Bearer ${token}` } });
    const uploaded = new Promise<Reply>((resolve, reject) => {
      req.on("response", (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on("error", reject);
    });
    req.write(payload.subarray(0, half));
    await sleep(200);

    p.child.kill("SIGTERM");
    await p.waitFor(/"msg":"stopping workers"/, 10_000);
    // Both workers drain: readiness fails on the shared port while requests are still served.
    await p.waitFor(/readiness fails while requests are still served[\s\S]*readiness fails while requests are still served/, 10_000);
    const ready = await send(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ status: "fail", checks: { "shutdown:responseTime": [{ status: "fail", output: "shutting down" }] } });

    req.end(payload.subarray(half));
    const res = await uploaded;
    expect(res.status, res.body).toBe(201);
    expect((JSON.parse(res.body) as { data: { file: { size: number } } }).data.file.size).toBe(bytes.length);

    expect(await p.exit).toEqual({ code: 0, signal: null });
    const lines = logLines(p);
    expect(lines.filter((l) => l.msg === "worker stopped").map((l) => [l.workerPid, l.code])).toEqual(expect.arrayContaining(workerPids.map((pid) => [pid, 0])));
    expect(lines.find((l) => l.msg === "all workers stopped")).toMatchObject({ exitCode: 0 });
    expect(lines.filter((l) => l.level === "error" && !String(l.msg).startsWith("worker exited"))).toEqual([]);
  }, 60_000);
});

describe("rampart serve --workers: refusals, a failed first start, a stuck worker", { timeout: 120_000 }, () => {
  const envs: TestEnv[] = [];
  afterAll(async () => {
    for (const e of envs) await e.cleanup();
  });

  it("refuses the embedded database and the in-process kv with exit code 2, naming both", async () => {
    const env = await createTestEnv("embedded");
    envs.push(env);
    const cli = await runCli(["serve", "--workers", "2"], env.env);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^rampart serve: --workers 2 runs 2 server processes, which need stores they all share: neither DATABASE_URL nor the secret database-url is set, and the embedded database \(PGlite\) belongs to one process; neither REDIS_URL nor the secret redis-url is set, and the in-process memory store would give every worker its own rate limits, lockouts, token revocations and idempotency keys\n/);
    expect(cli.stderr).toContain("Usage: rampart serve [--workers N|auto]");
    expect(cli.stdout).not.toContain("rampart listening");
  });

  it("refuses the in-process kv on PostgreSQL (WORKERS from the environment)", async () => {
    const env = await createTestEnv("postgres", { REDIS_URL: undefined, REDIS_PREFIX: undefined });
    envs.push(env);
    const cli = await runCli(["serve"], { ...env.env, WORKERS: "3" });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^rampart serve: WORKERS=3 runs 3 server processes, which need stores they all share: neither REDIS_URL nor the secret redis-url is set/);
    expect(cli.stderr.split("\n")[0]).not.toContain("DATABASE_URL");
  });

  it("refuses a worker count out of range", async () => {
    const cli = await runCli(["serve", "--workers", "0"], {});
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^rampart serve: --workers takes auto or an integer from 1 to 256, instead got '0'\n/);
  });

  it("kills a worker still running after the shutdown grace period, and exits 1", async () => {
    const env = await createTestEnv("postgres", { SHUTDOWN_DRAIN_MS: "0", SHUTDOWN_TIMEOUT_MS: "500" });
    envs.push(env);
    const p = spawnTs("src/cli/main.ts", ["serve", "--workers", "2"], env.env);
    let stuck: number | undefined;
    try {
      await p.waitFor(/"msg":"all workers serving"/, 90_000);
      const [first, other] = logLines(p).find((l) => l.msg === "all workers serving")!.workerPids as [number, number];
      // A stopped process acts on no signal but SIGKILL: this worker cannot shut down.
      stuck = first;
      process.kill(stuck, "SIGSTOP");
      p.child.kill("SIGTERM");
      expect(await p.exit).toEqual({ code: 1, signal: null });
      const lines = logLines(p);
      expect(lines.find((l) => l.msg === "stopping workers")).toMatchObject({ signal: "SIGTERM", workers: 2, graceMs: 500 + STOP_MARGIN_MS });
      expect(lines.find((l) => l.msg === "worker still running after the shutdown grace period; killing it")).toMatchObject({ level: "error", workerPid: stuck });
      expect(lines.find((l) => l.msg === "worker stopped with a failure")).toMatchObject({ level: "error", workerPid: stuck, code: null, signal: "SIGKILL" });
      expect(lines.find((l) => l.msg === "worker stopped")).toMatchObject({ workerPid: other, code: 0 });
      expect(lines.find((l) => l.msg === "all workers stopped")).toMatchObject({ exitCode: 1 });
    } finally {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
      await p.exit;
      if (stuck !== undefined) {
        try {
          process.kill(stuck, "SIGKILL");
        } catch {
          // Gone already, as it should be.
        }
      }
    }
  });

  it("ends the primary with the first worker's exit code when it cannot start, without starting others", async () => {
    // Pending migrations with automatic migration off: the first worker refuses to start.
    const env = await createTestEnv("postgres", { RAMPART_AUTO_MIGRATE: "false" }, { schema: "empty" });
    envs.push(env);
    const p = spawnTs("src/cli/main.ts", ["serve", "--workers", "2"], env.env);
    expect(await p.exit).toEqual({ code: 1, signal: null });
    expect(p.stderr()).toMatch(/^rampart serve: the database has \d+ pending migration\(s\)/);
    const lines = logLines(p);
    expect(lines.find((l) => l.msg === "the first worker exited before it was ready; not starting the others")).toMatchObject({ level: "error", worker: 1, code: 1 });
    expect(lines.filter((l) => l.worker !== undefined && l.worker !== 1)).toEqual([]);
    expect(lines.some((l) => l.msg === "worker ready")).toBe(false);
  });
});
