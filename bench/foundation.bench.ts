/**
 * Foundation benchmark: the cost of Rampart's request pipeline (trace id,
 * context, access log, envelope) on built-in routes, as a ratio of a plain
 * hello-world route on the same server, in embedded and PostgreSQL + Redis modes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchDatabase, compareToBaseline, ratioTable, startBenchServer, type RatioResult } from "./lib/http.js";

async function mode(name: string, env: Record<string, string>): Promise<RatioResult[]> {
  const server = await startBenchServer(env);
  try {
    return [
      await compareToBaseline(server.url, `${name}: GET /health/live`, { path: "/health/live" }),
      await compareToBaseline(server.url, `${name}: GET /health/ready (db + kv round trips)`, { path: "/health/ready" }),
      await compareToBaseline(server.url, `${name}: 404 error envelope`, { path: "/v1/does-not-exist" }),
    ].map((r) => (r.name.includes("404") ? { ...r, target: { ...r.target, non2xx: 0 } } : r));
  } finally {
    await server.stop();
  }
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "rampart-bench-"));
  try {
    const results = await mode("embedded", { RAMPART_DATA_DIR: dir });
    const pgdb = process.env.BENCH_REDIS_URL ? await benchDatabase() : undefined;
    if (pgdb) {
      try {
        results.push(...(await mode("postgres+redis", { RAMPART_DATA_DIR: dir, ...pgdb.env, REDIS_URL: process.env.BENCH_REDIS_URL!, REDIS_PREFIX: `bench${Date.now()}:` })));
      } finally {
        await pgdb.drop();
      }
    }
    return ratioTable(
      "Foundation: request pipeline",
      results,
      "autocannon, 50 connections, 3 alternating rounds of 4 s per route; the 404 row counts its 404s as expected answers.",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
