/**
 * Identity over HTTP, on the real server in a child process:
 * - protected `GET /v1/me` (token check from the verified-token cache,
 *   revocation check, profile from the per-instance cache, envelope) against
 *   the hello-world route of the same server, embedded and PostgreSQL + Redis
 *   (goal ≥ 0.5);
 * - login throughput against the raw argon2 verify rate at the same
 *   parameters on as many threads as the server hashes on (goal ≥ 0.9), in
 *   both modes;
 * - `GET /v1/me` p99 while logins saturate the hasher, against its idle p99
 *   (goal < 2×: hashing never blocks the event loop).
 * The login rows run twice per mode: with the default hashing concurrency
 * (one thread fewer than the cores) and with a hashing thread on every core.
 * Rate limiting is off here (it would cut the load test short); its cost is
 * measured in bench/http/protection.bench.ts.
 */
import { availableParallelism } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { hash as rawHash, type Algorithm } from "@node-rs/argon2";
import { defaultHashConcurrency } from "../../src/auth/password/index.js";
import { benchDatabase, compareToBaseline, load, ratioTable, startBenchServer, type RatioResult } from "../lib/http.js";

const PASSWORD = "correct horse battery staple for bench";
// The server's argon2id parameters (the config defaults: m=19456 KiB, t=2, p=1).
const PARAMS = { algorithm: 2 as Algorithm, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const require = createRequire(import.meta.url);

async function session(url: string): Promise<{ token: string; email: string }> {
  const email = `bench.${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`;
  const post = (path: string, body: unknown) => fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const reg = await post("/v1/auth/register", { email, password: PASSWORD });
  if (reg.status !== 202) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const login = (await (await post("/v1/auth/login", { email, password: PASSWORD })).json()) as { data: { accessToken: string } };
  return { token: login.data.accessToken, email };
}

// One thread verifying back to back until the deadline: no queue, no event-loop round trip between
// two verifications — the most a thread can do, so the baseline is the strictest one available.
const RAW_LOOP = `
const { parentPort, workerData } = require("node:worker_threads");
const argon2 = require(workerData.argon2);
let n = 0;
const end = performance.now() + workerData.ms;
while (performance.now() < end) { argon2.verifySync(workerData.phc, workerData.password, workerData.params); n++; }
parentPort.postMessage(n);
`;

/** Raw argon2id verifications per second at the server's parameters on `threads` threads. */
async function rawVerifyRate(threads: number, durationMs: number): Promise<number> {
  const phc = await rawHash(PASSWORD, PARAMS);
  const t0 = performance.now();
  const counts = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(RAW_LOOP, { eval: true, workerData: { argon2: require.resolve("@node-rs/argon2"), phc, password: PASSWORD, params: PARAMS, ms: durationMs } });
          w.once("message", (n: number) => void w.terminate().then(() => resolve(n)));
          w.once("error", reject);
        }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
}

/**
 * Login throughput against the raw rate on as many threads as the server hashes on, then the /v1/me
 * p99 idle and while logins saturate the hasher. Several accounts, 3 logins in flight each (under
 * the lockout's bound of 5 password checks in flight per account, beyond which it answers 423 by
 * design), so logins always wait for the hasher, as the raw threads never stop verifying.
 */
async function loginRows(url: string, label: string, hashThreads: number, accounts: string[], auth: Record<string, string>): Promise<string[]> {
  const loginLoad = async () => {
    const rs = await Promise.all(
      accounts.map((e) => load(url, { path: "/v1/auth/login", method: "POST" as const, headers: { "content-type": "application/json" }, body: JSON.stringify({ email: e, password: PASSWORD }), connections: 3, durationSec: 6 })),
    );
    return { requestsPerSec: rs.reduce((a, r) => a + r.requestsPerSec, 0), non2xx: rs.reduce((a, r) => a + r.non2xx, 0), errors: rs.reduce((a, r) => a + r.errors, 0) };
  };
  await loginLoad(); // warm-up: JIT, pools, the hashing threads
  // Raw rate before and after the login run (their mean is the baseline), so drift hits both sides.
  const rawBefore = await rawVerifyRate(hashThreads, 4000);
  const logins = await loginLoad();
  const raw = (rawBefore + (await rawVerifyRate(hashThreads, 4000))) / 2;
  const idle = await load(url, { path: "/v1/me", headers: auth, connections: 10, durationSec: 6 });
  const [busy] = await Promise.all([load(url, { path: "/v1/me", headers: auth, connections: 10, durationSec: 6 }), loginLoad()]);
  return [
    `| ${label}: login | ${raw.toFixed(1)} raw verifies/s | ${logins.requestsPerSec.toFixed(1)} logins/s | **${(logins.requestsPerSec / raw).toFixed(2)}** | ${logins.non2xx + logins.errors} |`,
    `| ${label}: GET /v1/me p99 while logins saturate the hasher | idle p99 ${idle.p99Ms} ms | busy p99 ${busy.p99Ms} ms | **${(busy.p99Ms / Math.max(1, idle.p99Ms)).toFixed(2)}×** | ${busy.non2xx + busy.errors} |`,
  ];
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "rampart-bench-id-"));
  const sections: string[] = [];
  const ratios: RatioResult[] = [];
  const rows: string[] = [];
  const cores = availableParallelism();
  const modes: [string, Record<string, string>][] = [["embedded", { RAMPART_DATA_DIR: join(dir, "e") }]];
  const pgdb = process.env.BENCH_REDIS_URL ? await benchDatabase() : undefined;
  if (pgdb) modes.push(["postgres+redis", { RAMPART_DATA_DIR: join(dir, "p"), ...pgdb.env, REDIS_URL: process.env.BENCH_REDIS_URL!, REDIS_PREFIX: `bench${Date.now()}:` }]);
  // The default hashing concurrency, then a hashing thread on every core.
  const settings: [string, number, Record<string, string>][] = [
    [`${defaultHashConcurrency()} hashing thread(s) (default)`, defaultHashConcurrency(), {}],
    [`${cores} hashing threads (one per core)`, cores, { ARGON2_MAX_CONCURRENCY: String(cores) }],
  ];
  try {
    for (const [name, env] of modes) {
      for (const [i, [label, threads, extra]] of settings.entries()) {
        // A plan without request limits: the default plan's 10,000 requests a day would end the load test in refusals.
        const server = await startBenchServer({ ...env, ...extra, RATE_LIMIT_ENABLED: "false", METRICS_ENABLED: "false", RAMPART_PLANS: JSON.stringify({ free: {} }) });
        try {
          const { token, email } = await session(server.url);
          const auth = { authorization: `Bearer ${token}` };
          if (i === 0) ratios.push(await compareToBaseline(server.url, `${name}: GET /v1/me`, { path: "/v1/me", headers: auth }));
          const accounts = [email, ...(await Promise.all([1, 2].map(async () => (await session(server.url)).email)))];
          rows.push(...(await loginRows(server.url, `${name}, ${label}`, threads, accounts, auth)));
        } finally {
          await server.stop();
        }
      }
    }
    sections.push(ratioTable("Identity: protected GET /v1/me", ratios, "Goal ≥ 0.5 of hello-world. autocannon, 50 connections, 3 alternating rounds of 4 s. The token is verified once and then served from the verified-token cache; revocation is checked on every request."));
    sections.push(
      [
        "### Identity: login throughput and latency under login load",
        "",
        `argon2id m=19456 KiB, t=2, p=1; ${cores} cores shared by the server, PostgreSQL, Redis and the load generator. Login goal ≥ 0.9 of the raw verify rate of as many threads as the server hashes on ` +
          "(each verifying back to back in a worker thread, measured before and after the logins); /v1/me p99 goal < 2× idle. Logins: 3 accounts × 3 connections, 6 s.",
        "",
        "| case | baseline | measured | ratio | non-2xx + errors |",
        "|---|---|---|---|---|",
        ...rows,
        "",
      ].join("\n"),
    );
    return sections.join("\n");
  } finally {
    await pgdb?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
