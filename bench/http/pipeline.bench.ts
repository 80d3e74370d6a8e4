/**
 * The cost of Rampart's request pipeline against the physical limit: a bare
 * Fastify hello-world in a process of its own, under the same load generator
 * (autocannon, 50 connections), in interleaved rounds; each row is the median
 * of its rounds. The servers run their default configuration — access log at
 * `info` (to a file, as a log collector would read it), rate limiting on,
 * quotas on with a plan whose limits the run does not reach, metrics on —
 * embedded, and with PostgreSQL + Redis when BENCH_DATABASE_URL and
 * BENCH_REDIS_URL are set.
 *
 * With PostgreSQL, better-auth runs as the peer (bench/peers/better-auth,
 * installed there on first use with its own lock file so its optional peers
 * never enter Rampart's tree): its `get-session` with its defaults (no cookie
 * cache) on the same PostgreSQL server, against Rampart's `GET /v1/me`.
 *
 * BENCH_ROUNDS (default 3) and BENCH_DURATION (seconds per round, default 6)
 * set the length of a run.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchDatabase, load, ROOT, startBenchServer, type BenchServer, type LoadOptions, type LoadResult } from "../lib/http.js";

const PASSWORD = "correct horse battery staple for bench";

/** A plan the run never exhausts: quotas are decided and counted on every request, never refused. */
const PLANS = JSON.stringify({ free: { "api.requests": { day: 1_000_000_000 }, "files.bytes": { month: 1_000_000_000 } } });

/** The default configuration, with limits out of reach of one load generator. */
export function defaultConfiguration(dir: string): Record<string, string> {
  return { RAMPART_DATA_DIR: dir, LOG_LEVEL: "info", RATE_LIMIT_ENABLED: "true", RATE_LIMIT_REQUESTS_PER_MINUTE: "1000000", RAMPART_PLANS: PLANS, METRICS_ENABLED: "true" };
}

export async function accessToken(url: string): Promise<string> {
  const email = `pipe.${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`;
  const post = (path: string, body: unknown) => fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  await post("/v1/auth/register", { email, password: PASSWORD });
  const res = await post("/v1/auth/login", { email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`bench login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: { accessToken: string } }).data.accessToken;
}

const PEER_DIR = join(ROOT, "bench/peers/better-auth");

/** Starts better-auth on a database of its own; returns the server and a session cookie of a signed-up user. */
async function startBetterAuth(dir: string, databaseUrl: string): Promise<{ server: BenchServer; cookie: string }> {
  if (!existsSync(join(PEER_DIR, "node_modules/better-auth"))) execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: PEER_DIR, stdio: "inherit" });
  const server = await startBenchServer({ DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: randomBytes(32).toString("hex") }, { script: "bench/peers/better-auth/server.mjs", logFile: join(dir, "better-auth.log") });
  const res = await fetch(`${server.url}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: server.url },
    body: JSON.stringify({ email: `peer.${Date.now()}@example.com`, password: PASSWORD, name: "Peer" }),
  });
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).find((c) => c?.startsWith("better-auth.session_token="));
  if (res.status !== 200 || !cookie) {
    await server.stop();
    throw new Error(`better-auth sign-up failed: ${res.status} ${await res.text()}`);
  }
  return { server, cookie };
}

interface Target {
  name: string;
  goal: string;
  url: string;
  load: LoadOptions;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function run(): Promise<string> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const durationSec = Number(process.env.BENCH_DURATION ?? 6);
  const dir = mkdtempSync(join(tmpdir(), "rampart-bench-pipe-"));
  const servers: BenchServer[] = [];
  const db = process.env.BENCH_REDIS_URL ? await benchDatabase() : undefined;
  const peerDb = db ? await benchDatabase() : undefined;
  try {
    const bare = await startBenchServer({}, { script: "bench/lib/bare-server.ts", logFile: join(dir, "bare.log") });
    servers.push(bare);
    const embedded = await startBenchServer(defaultConfiguration(join(dir, "embedded")), { logFile: join(dir, "embedded.log") });
    servers.push(embedded);
    const targets: Target[] = [
      { name: "bare Fastify `GET /` (own process)", goal: "1 (baseline)", url: bare.url, load: { path: "/" } },
      { name: "`GET /health/live`, embedded", goal: "≥ 0.7", url: embedded.url, load: { path: "/health/live" } },
      { name: "404 envelope, embedded", goal: "", url: embedded.url, load: { path: "/v1/no-such-route" } },
      { name: "`GET /v1/me`, embedded", goal: "≥ 0.4", url: embedded.url, load: { path: "/v1/me", headers: { authorization: `Bearer ${await accessToken(embedded.url)}` } } },
    ];
    if (db && process.env.BENCH_REDIS_URL) {
      const services = await startBenchServer(
        { ...defaultConfiguration(join(dir, "services")), ...db.env, REDIS_URL: process.env.BENCH_REDIS_URL, REDIS_PREFIX: `benchpipe${Date.now()}:` },
        { logFile: join(dir, "services.log") },
      );
      servers.push(services);
      targets.push({ name: "`GET /v1/me`, PostgreSQL + Redis", goal: "≥ 0.35", url: services.url, load: { path: "/v1/me", headers: { authorization: `Bearer ${await accessToken(services.url)}` } } });
    }
    if (peerDb) {
      const peer = await startBetterAuth(dir, peerDb.url);
      servers.push(peer.server);
      targets.push({ name: "better-auth `get-session`, PostgreSQL (peer)", goal: "", url: peer.server.url, load: { path: "/api/auth/get-session", headers: { cookie: peer.cookie } } });
    }

    // Warm-up: JIT, caches, connection pools.
    for (const t of targets) await load(t.url, { ...t.load, durationSec: 2 });
    const results = new Map<Target, LoadResult[]>(targets.map((t) => [t, []]));
    for (let i = 0; i < rounds; i++) for (const t of targets) results.get(t)!.push(await load(t.url, { ...t.load, connections: 50, durationSec }));

    const rps = (t: Target) => median(results.get(t)!.map((r) => r.requestsPerSec));
    const p99 = (t: Target) => median(results.get(t)!.map((r) => r.p99Ms));
    const bad = (t: Target) => results.get(t)!.reduce((s, r) => s + r.errors + (t.load.path === "/v1/no-such-route" ? 0 : r.non2xx), 0);
    const base = targets[0]!;
    const services = targets.find((t) => t.name.startsWith("`GET /v1/me`, PostgreSQL"));
    const peer = targets.find((t) => t.name.startsWith("better-auth"));
    const peerLine =
      services && peer
        ? [`Rampart \`GET /v1/me\` (PostgreSQL + Redis) against better-auth's \`get-session\` on the same PostgreSQL server: **${(rps(services) / rps(peer)).toFixed(1)}×** (goal ≥ 20×).`, ""]
        : [];
    const rows = targets.map(
      (t) =>
        `| ${t.name} | ${Math.round(rps(t))} | **${(rps(t) / rps(base)).toFixed(2)}** | ${t.goal} | ${p99(t).toFixed(1)} | ${(p99(t) / Math.max(p99(base), 0.001)).toFixed(1)}× | ${bad(t)} |`,
    );
    return [
      "### HTTP pipeline against bare Fastify",
      "",
      `Baseline: a bare Fastify hello-world in its own process. Rampart with its default configuration (access log at \`info\` to a file, rate limiting on, quotas on with a plan the run never reaches, metrics on). autocannon, 50 connections, ${rounds} interleaved rounds of ${durationSec} s, median. p99 goal ≤ 3× bare Fastify's.`,
      "",
      "| route | req/s | ratio to bare Fastify | goal | p99 ms | p99 vs bare | non-2xx + errors |",
      "|---|---|---|---|---|---|---|",
      ...rows,
      "",
      ...peerLine,
    ].join("\n");
  } finally {
    for (const s of servers.reverse()) await s.stop();
    await db?.drop();
    await peerDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
