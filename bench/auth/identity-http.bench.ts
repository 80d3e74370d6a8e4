/**
 * Identity over HTTP, on the real server in a child process:
 * - protected `GET /v1/me` (token check from the verified-token cache,
 *   revocation check, profile from the per-instance cache, envelope) against
 *   the hello-world route of the same server, embedded and PostgreSQL + Redis
 *   (goal ≥ 0.5);
 * - login throughput against the raw argon2 verify rate at the same
 *   parameters and concurrency, measured in this process (goal ≥ 0.9), in
 *   both modes;
 * - `GET /v1/me` p99 while logins saturate the hasher, against its idle p99
 *   (goal < 2×: hashing never blocks the event loop).
 * Rate limiting is off here (it would cut the load test short); its cost is
 * measured in bench/http/protection.bench.ts.
 */
import { availableParallelism } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hash as rawHash, verify as rawVerify, type Algorithm } from "@node-rs/argon2";
import { benchDatabase, compareToBaseline, load, ratioTable, startBenchServer, type RatioResult } from "../lib/http.js";

const PASSWORD = "correct horse battery staple for bench";

async function session(url: string): Promise<{ token: string; email: string }> {
  const email = `bench.${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`;
  const post = (path: string, body: unknown) => fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const reg = await post("/v1/auth/register", { email, password: PASSWORD });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const login = (await (await post("/v1/auth/login", { email, password: PASSWORD })).json()) as { data: { accessToken: string } };
  return { token: login.data.accessToken, email };
}

/** Raw argon2id verifications per second at the server's parameters, `concurrency` at a time. */
async function rawVerifyRate(concurrency: number, durationMs: number): Promise<number> {
  const phc = await rawHash(PASSWORD, { algorithm: 2 as Algorithm, memoryCost: 19456, timeCost: 2, parallelism: 1 });
  let done = 0;
  const end = performance.now() + durationMs;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await rawVerify(phc, PASSWORD);
        done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "rampart-bench-id-"));
  const sections: string[] = [];
  const ratios: RatioResult[] = [];
  const modes: [string, Record<string, string>][] = [["embedded", { RAMPART_DATA_DIR: join(dir, "e") }]];
  const pgdb = process.env.BENCH_REDIS_URL ? await benchDatabase() : undefined;
  if (pgdb) modes.push(["postgres+redis", { RAMPART_DATA_DIR: join(dir, "p"), DATABASE_URL: pgdb.url, REDIS_URL: process.env.BENCH_REDIS_URL!, REDIS_PREFIX: `bench${Date.now()}:` }]);
  try {
    let loginRows = "";
    for (const [name, env] of modes) {
      // A plan without request limits: the default plan's 10,000 requests a day would end the load test in refusals.
      const server = await startBenchServer({ ...env, RATE_LIMIT_ENABLED: "false", METRICS_ENABLED: "false", RAMPART_PLANS: JSON.stringify({ free: {} }) });
      try {
        const { token, email } = await session(server.url);
        const auth = { authorization: `Bearer ${token}` };
        ratios.push(await compareToBaseline(server.url, `${name}: GET /v1/me`, { path: "/v1/me", headers: auth }));
        // Login vs raw argon2 at the same parameters and concurrency (the hasher's cap: one per core).
        // Several accounts, 3 logins in flight each (under the lockout's bound of 5 password checks in
        // flight per account, beyond which it answers 423 by design), so logins always wait for the
        // hasher, as the raw baseline always has its verifications in flight.
        const cores = availableParallelism();
        const accounts = [email, ...(await Promise.all([1, 2].map(async () => (await session(server.url)).email)))];
        const loginLoad = async () => {
          const rs = await Promise.all(
            accounts.map((e) => load(server.url, { path: "/v1/auth/login", method: "POST" as const, headers: { "content-type": "application/json" }, body: JSON.stringify({ email: e, password: PASSWORD }), connections: 3, durationSec: 6 })),
          );
          return { requestsPerSec: rs.reduce((a, r) => a + r.requestsPerSec, 0), non2xx: rs.reduce((a, r) => a + r.non2xx, 0), errors: rs.reduce((a, r) => a + r.errors, 0) };
        };
        // Raw rate before and after the login run (their mean is the baseline), so drift hits both sides.
        const rawBefore = await rawVerifyRate(cores, 4000);
        const logins = await loginLoad();
        const raw = (rawBefore + (await rawVerifyRate(cores, 4000))) / 2;
        loginRows += `| ${name}: login (argon2id m=19456 t=2 p=1, ${cores} at a time) | ${raw.toFixed(1)} raw verifies/s | ${logins.requestsPerSec.toFixed(1)} logins/s | **${(logins.requestsPerSec / raw).toFixed(2)}** | ${logins.non2xx + logins.errors} |\n`;
        // /me p99, idle and while logins saturate the hasher.
        const idle = await load(server.url, { path: "/v1/me", headers: auth, connections: 10, durationSec: 6 });
        const [busy] = await Promise.all([load(server.url, { path: "/v1/me", headers: auth, connections: 10, durationSec: 6 }), loginLoad()]);
        loginRows += `| ${name}: GET /v1/me p99 while logins saturate the hasher | idle p99 ${idle.p99Ms} ms | busy p99 ${busy.p99Ms} ms | **${(busy.p99Ms / Math.max(1, idle.p99Ms)).toFixed(2)}×** | ${busy.non2xx + busy.errors} |\n`;
      } finally {
        await server.stop();
      }
    }
    sections.push(ratioTable("Identity: protected GET /v1/me", ratios, "Goal ≥ 0.5 of hello-world. autocannon, 50 connections, 3 alternating rounds of 4 s. The token is verified once and then served from the verified-token cache; revocation is checked on every request."));
    sections.push(
      ["### Identity: login throughput and latency under login load", "", "Login goal ≥ 0.9 of the raw argon2 verify rate measured in the same run; /v1/me p99 goal < 2× idle.", "", "| case | baseline | measured | ratio | non-2xx + errors |", "|---|---|---|---|---|", loginRows].join("\n"),
    );
    return sections.join("\n");
  } finally {
    await pgdb?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
