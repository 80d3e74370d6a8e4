/**
 * Three `rampart serve` instances on one PostgreSQL database and one Redis,
 * behind HAProxy configured as deploy/haproxy/haproxy.cfg is (readiness
 * checks, `option redispatch`, retries on connection failures only), under a
 * mixed load of registrations, logins, refreshes, `GET /v1/me` and uploads.
 *
 * - A rolling restart, one instance at a time (SIGTERM, wait for its exit,
 *   start it again, wait until HAProxy has it up), fails no request, and
 *   every acknowledged registration logs in afterwards. SHUTDOWN_DRAIN_MS
 *   makes it so: the stopping instance fails readiness while it still serves,
 *   HAProxy takes it out, and only then does its listener close.
 * - `kill -9` of an instance fails at most the requests in flight while it
 *   dies; a request sent once it is gone meets a refused connection, which
 *   HAProxy retries on another instance. Sessions and refresh tokens the
 *   killed instance issued keep working through the others.
 *
 * HAProxy never retries a request that reached an instance (no
 * `empty-response` or status retries): a registration that was processed and
 * then lost its answer must not be sent twice.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filePart, multipart, png } from "../files/fixtures.js";
import { pollUntil, sleep } from "../helpers/async.js";
import { freePort, startHaproxy, type Haproxy } from "../helpers/haproxy.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { spawnTs, type Spawned } from "../helpers/process.js";

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a new connection, as many clients of a load balancer make them. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", reject);
    req.end(options.body);
  });
}

const JSON_TYPE = { "content-type": "application/json" };
const THINK_MS = 20;
const PASSWORD = "correct horse battery staple";
const data = <T>(reply: Reply) => (JSON.parse(reply.body) as { data: T }).data;

interface Result {
  id: number;
  kind: string;
  ok: boolean;
  status?: number;
  error?: string;
}

interface Account {
  email: string;
  userId: string;
}

/**
 * Virtual users, each repeating register → login → GET /v1/me → refresh →
 * GET /v1/me with the new token → upload, until stopped. Every request is
 * tracked from its start to its answer, so the requests in flight at any
 * moment are known.
 */
class Load {
  private seq = 0;
  private running = false;
  private users: Promise<void>[] = [];
  readonly inflight = new Set<number>();
  readonly results: Result[] = [];
  /** Registrations answered 201. */
  readonly registered: Account[] = [];

  constructor(private readonly url: string) {}

  start(users: number): void {
    this.running = true;
    this.users = Array.from({ length: users }, (_, i) => this.user(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.users);
  }

  /** The id of the last request started. */
  lastStarted(): number {
    return this.seq;
  }

  failures(): Result[] {
    return this.results.filter((r) => !r.ok);
  }

  private async call(kind: string, expected: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; token?: string }): Promise<Reply | undefined> {
    const id = ++this.seq;
    this.inflight.add(id);
    try {
      const res = await send(`${this.url}${path}`, { method: options.method ?? "GET", body: options.body, headers: { ...options.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) } });
      const ok = res.status === expected;
      this.results.push({ id, kind, ok, status: res.status, ...(ok ? {} : { error: res.body.slice(0, 200) }) });
      return ok ? res : undefined;
    } catch (err) {
      this.results.push({ id, kind, ok: false, error: (err as Error).message });
      return undefined;
    } finally {
      this.inflight.delete(id);
      // A bounded load: each virtual user waits a little between requests.
      await sleep(THINK_MS);
    }
  }

  private async user(n: number): Promise<void> {
    for (let round = 0; this.running; round++) {
      const email = `load${n}.${round}.${randomBytes(4).toString("hex")}@example.com`;
      const credentials = JSON.stringify({ email, password: PASSWORD });
      const reg = await this.call("register", 201, "/v1/auth/register", { method: "POST", headers: JSON_TYPE, body: credentials });
      if (!reg) continue;
      this.registered.push({ email, userId: data<{ user: { id: string } }>(reg).user.id });
      const login = await this.call("login", 200, "/v1/auth/login", { method: "POST", headers: JSON_TYPE, body: credentials });
      if (!login) continue;
      const tokens = data<{ accessToken: string; refreshToken: string }>(login);
      if (!(await this.call("me", 200, "/v1/me", { token: tokens.accessToken }))) continue;
      const refreshed = await this.call("refresh", 200, "/v1/auth/refresh", { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ refreshToken: tokens.refreshToken }) });
      if (!refreshed) continue;
      const next = data<{ accessToken: string }>(refreshed);
      if (!(await this.call("me", 200, "/v1/me", { token: next.accessToken }))) continue;
      const { payload, headers } = multipart([filePart(`load-${n}-${round}.png`, png({ pad: 2048 }), "image/png")]);
      await this.call("upload", 201, "/v1/files", { method: "POST", headers, body: payload, token: next.accessToken });
    }
  }
}

interface Instance {
  name: string;
  port: number;
  dataDir: string;
  /** Every process this instance ran, the current one last. */
  runs: Spawned[];
}

const current = (i: Instance) => i.runs[i.runs.length - 1]!;

// Three starts in parallel, three restarts one after the other, and the load: about a minute on a
// machine of its own; the timeouts leave room for one busy with other work.
describe("three instances behind HAProxy", { timeout: 150_000 }, () => {
  let env: TestEnv;
  let filesDir: string;
  let instances: Instance[];
  let lb: Haproxy;

  const start = async (instance: Instance) => {
    const p = spawnTs("src/cli/main.ts", ["serve"], {
      ...env.env,
      PORT: String(instance.port),
      RAMPART_DATA_DIR: instance.dataDir,
      // Shared by every instance, as the compose file's volume is.
      RAMPART_FILES_DIR: filesDir,
      RAMPART_INSTANCES: "3",
      TRUST_PROXY: "127.0.0.1",
      // Readiness fails this long before the listener closes: longer than HAProxy's 2 checks at 250 ms.
      SHUTDOWN_DRAIN_MS: "2000",
      SHUTDOWN_TIMEOUT_MS: "10000",
      AUTH_REGISTRATION_CONFLICT: "explicit",
      // Cheap hashes: the load is about the cluster, not argon2.
      ARGON2_MEMORY_KIB: "1024",
      ARGON2_ITERATIONS: "1",
    });
    instance.runs.push(p);
    await p.waitFor(/"msg":"rampart listening"/, 60_000);
  };

  beforeAll(async () => {
    env = await createTestEnv("postgres");
    filesDir = mkdtempSync(join(tmpdir(), "rampart-cluster-files-"));
    instances = [];
    for (const name of ["rampart-1", "rampart-2", "rampart-3"]) instances.push({ name, port: await freePort(), dataDir: mkdtempSync(join(tmpdir(), "rampart-cluster-")), runs: [] });
    await Promise.all(instances.map(start));
    lb = await startHaproxy({ port: await freePort(), statsPort: await freePort(), servers: instances.map((i) => ({ name: i.name, port: i.port })), checkIntervalMs: 250 });
    for (const i of instances) await lb.waitForState(i.name, (s) => s === "UP");
  }, 150_000);

  afterAll(async () => {
    await lb?.stop();
    for (const i of instances ?? []) {
      for (const p of i.runs) {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
        await p.exit;
      }
      rmSync(i.dataDir, { recursive: true, force: true });
    }
    if (filesDir) rmSync(filesDir, { recursive: true, force: true });
    await env?.cleanup();
  });

  it("a rolling restart under load fails no request and keeps every acknowledged registration", async () => {
    const load = new Load(lb.url);
    load.start(3);
    try {
      await pollUntil(async () => load.results.length, (n) => n >= 10, 20_000);
      for (const instance of instances) {
        const before = load.results.length;
        const p = current(instance);
        p.child.kill("SIGTERM");
        // Taken out by its failing readiness while it still serves, not by a closed port.
        await lb.waitForState(instance.name, (s) => s === "DOWN", 10_000);
        expect(p.child.exitCode, "HAProxy took the instance out before it exited").toBeNull();
        expect(await p.exit).toEqual({ code: 0, signal: null });
        await start(instance);
        await lb.waitForState(instance.name, (s) => s === "UP");
        expect(load.results.length, "the load ran through the restart").toBeGreaterThan(before);
      }
    } finally {
      await load.stop();
    }
    expect(load.failures()).toEqual([]);
    const kinds = new Set(load.results.map((r) => r.kind));
    expect(kinds).toEqual(new Set(["register", "login", "me", "refresh", "upload"]));
    expect(load.registered.length).toBeGreaterThan(0);

    // Every registration that was answered 201 exists: its password logs in, as that user.
    for (const account of load.registered) {
      const login = await send(`${lb.url}/v1/auth/login`, { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ email: account.email, password: PASSWORD }) });
      expect(login.status, account.email).toBe(200);
      expect(data<{ user: { id: string } }>(login).user.id).toBe(account.userId);
    }
  });

  it("kill -9 of an instance fails only requests in flight while it dies; its sessions and refresh tokens keep working", async () => {
    // Sessions issued before the kill, each attributed to the instance that issued it by its access log.
    const sessions: { accessToken: string; refreshToken: string; issuer: Instance }[] = [];
    for (let n = 0; n < 9; n++) {
      const credentials = JSON.stringify({ email: `issued${n}.${randomBytes(4).toString("hex")}@example.com`, password: PASSWORD });
      expect((await send(`${lb.url}/v1/auth/register`, { method: "POST", headers: JSON_TYPE, body: credentials })).status).toBe(201);
      const login = await send(`${lb.url}/v1/auth/login`, { method: "POST", headers: JSON_TYPE, body: credentials });
      expect(login.status).toBe(200);
      const traceId = String(login.headers["x-request-id"]);
      const issuer = await pollUntil(
        async () => instances.find((i) => current(i).stdout().includes(`"traceId":"${traceId}"`)),
        (found) => found !== undefined,
      );
      expect(issuer, `the access line of login ${traceId}`).toBeDefined();
      sessions.push({ ...data<{ accessToken: string; refreshToken: string }>(login), issuer: issuer! });
    }
    // The instance that issued the most of them is the one killed.
    const victim = instances.reduce((a, b) => (sessions.filter((s) => s.issuer === b).length > sessions.filter((s) => s.issuer === a).length ? b : a));
    expect(sessions.some((s) => s.issuer === victim)).toBe(true);

    const load = new Load(lb.url);
    load.start(3);
    // The requests in flight while the instance dies: those started before the signal and not yet
    // answered, and those started until its exit was seen. SIGKILL is not instantaneous: until the
    // exit completes, the kernel still accepts connections on its listening socket, and a request
    // HAProxy sent on one of them fails like one the process was working on.
    const exposed = new Set<number>();
    let lastExposed = 0;
    try {
      await pollUntil(async () => load.results.length, (n) => n >= 10, 20_000);
      // Taken and sent in one tick: no request of the load starts in between.
      for (const id of load.inflight) exposed.add(id);
      const firstAfterSignal = load.lastStarted() + 1;
      current(victim).child.kill("SIGKILL");
      expect(await current(victim).exit).toEqual({ code: null, signal: "SIGKILL" });
      lastExposed = load.lastStarted();
      for (let id = firstAfterSignal; id <= lastExposed; id++) exposed.add(id);
      await lb.waitForState(victim.name, (s) => s === "DOWN", 10_000);
      await pollUntil(async () => load.results.filter((r) => r.id > lastExposed).length, (n) => n >= 20, 30_000);
    } finally {
      await load.stop();
    }
    const failed = load.failures();
    expect(failed.filter((r) => !exposed.has(r.id)), "failed requests that were not in flight while the instance died").toEqual([]);
    expect(failed.length).toBeLessThanOrEqual(exposed.size);
    expect(load.results.filter((r) => r.id > lastExposed).length, "requests started after the exit, all answered").toBeGreaterThanOrEqual(20);

    for (const session of sessions) {
      expect((await send(`${lb.url}/v1/me`, { headers: { authorization: `Bearer ${session.accessToken}` } })).status).toBe(200);
      const refreshed = await send(`${lb.url}/v1/auth/refresh`, { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ refreshToken: session.refreshToken }) });
      expect(refreshed.status, refreshed.body).toBe(200);
      const next = data<{ accessToken: string }>(refreshed);
      expect((await send(`${lb.url}/v1/me`, { headers: { authorization: `Bearer ${next.accessToken}` } })).status).toBe(200);
    }
  });
});
