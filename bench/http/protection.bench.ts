/**
 * The cost of the protection stack on a protected route: `GET /v1/me` on a
 * server with rate limiting (in Redis when BENCH_REDIS_URL is set), quota
 * metering and metrics on, against the same route on a server with them off
 * (security headers, CORS and schema validation are always on, in both).
 * Goal ≥ 0.7. The limits are set high so the load test measures the cost of
 * the decisions, not refusals.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchDatabase, load, startBenchServer, type LoadResult } from "../lib/http.js";

const PASSWORD = "correct horse battery staple for bench";

async function token(url: string): Promise<string> {
  const email = `prot.${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`;
  const post = (path: string, body: unknown) => fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  await post("/v1/auth/register", { email, password: PASSWORD });
  const login = (await (await post("/v1/auth/login", { email, password: PASSWORD })).json()) as { data: { accessToken: string } };
  return login.data.accessToken;
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "rampart-bench-prot-"));
  const redis = process.env.BENCH_REDIS_URL;
  const dbOn = redis ? await benchDatabase() : undefined;
  const dbOff = redis ? await benchDatabase() : undefined;
  const stores: Record<string, string> = dbOn && redis ? { ...dbOn.env, REDIS_URL: redis, REDIS_PREFIX: `benchp${Date.now()}:` } : {};
  const protectedEnv = {
    ...stores,
    RAMPART_DATA_DIR: join(dir, "on"),
    RATE_LIMIT_ENABLED: "true",
    RATE_LIMIT_REQUESTS_PER_MINUTE: "1000000",
    RAMPART_PLANS: JSON.stringify({ free: { "api.requests": { day: 1_000_000_000 } } }),
    METRICS_ENABLED: "true",
  };
  const bareEnv = { ...stores, ...(dbOff?.env ?? {}), REDIS_PREFIX: `benchb${Date.now()}:`, RAMPART_DATA_DIR: join(dir, "off"), RATE_LIMIT_ENABLED: "false", RAMPART_PLANS: JSON.stringify({ free: {} }), METRICS_ENABLED: "false" };
  const on = await startBenchServer(protectedEnv);
  const off = await startBenchServer(bareEnv);
  try {
    const tOn = await token(on.url);
    const tOff = await token(off.url);
    const me = (url: string, t: string) => load(url, { path: "/v1/me", headers: { authorization: `Bearer ${t}` }, connections: 50, durationSec: 4 });
    await me(on.url, tOn);
    await me(off.url, tOff);
    const a: LoadResult[] = [];
    const b: LoadResult[] = [];
    for (let i = 0; i < 3; i++) {
      b.push(await me(off.url, tOff));
      a.push(await me(on.url, tOn));
    }
    const avg = (xs: LoadResult[]) => xs.reduce((s, x) => s + x.requestsPerSec, 0) / xs.length;
    const ratio = avg(a) / avg(b);
    const bad = a.reduce((s, x) => s + x.non2xx + x.errors, 0) + b.reduce((s, x) => s + x.non2xx + x.errors, 0);
    return [
      "### HTTP hardening: cost of the protection stack",
      "",
      `Goal ≥ 0.7. \`GET /v1/me\`, autocannon 50 connections, 3 alternating rounds of 4 s; stores: ${stores.REDIS_URL ? "PostgreSQL + Redis (rate limits decided in Redis)" : "embedded (memory)"}.`,
      "",
      "| server | req/s | ratio | non-2xx + errors |",
      "|---|---|---|---|",
      `| without rate limits, quotas, metrics | ${Math.round(avg(b))} | 1.00 | |`,
      `| with rate limits, quotas, metrics | ${Math.round(avg(a))} | **${ratio.toFixed(2)}** | ${bad} |`,
      "",
    ].join("\n");
  } finally {
    await on.stop();
    await off.stop();
    await dbOn?.drop();
    await dbOff?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
