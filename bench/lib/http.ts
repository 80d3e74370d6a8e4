/**
 * HTTP benchmark harness: starts the benchmark server in a child process,
 * drives it with autocannon, and reports each target route's throughput as a
 * ratio of the hello-world baseline measured in the same run. Baseline and
 * target alternate over several rounds so drift (thermal, other load) hits both.
 */
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface BenchServer {
  url: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /**
   * Write the server's stdout (its logs) to this file instead of a pipe to the
   * benchmark process, so reading log lines costs the load generator nothing.
   */
  logFile?: string;
  /** The script to run (default bench/lib/server.ts, the real `serve`). */
  script?: string;
}

export async function startBenchServer(env: Record<string, string>, options: StartOptions = {}): Promise<BenchServer & { pid: number }> {
  const logFd = options.logFile ? openSync(options.logFile, "a") : undefined;
  const urlFile = options.logFile ? `${options.logFile}.url` : undefined;
  // BENCH_NODE_ARGS: extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile a run.
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(" ") ?? []), "--import", "tsx", options.script ?? "bench/lib/server.ts"], {
    cwd: ROOT,
    // NODE_ENV=test: production would refuse the development keys and plain-HTTP URL of a local benchmark (preflight).
    // Rate limiting off unless a benchmark turns it on: a load test from one IP would only measure refusals.
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", LOG_LEVEL: "warn", PORT: "0", RATE_LIMIT_ENABLED: "false", ...(urlFile ? { BENCH_URL_FILE: urlFile } : {}), ...env },
    stdio: ["ignore", logFd ?? "pipe", "inherit"],
  });
  if (logFd !== undefined) closeSync(logFd);
  const exited = new Promise<never>((_, reject) => child.on("exit", (code) => reject(new Error(`bench server exited with ${code}`))));
  const url = await Promise.race([
    exited,
    urlFile
      ? pollFile(urlFile)
      : new Promise<string>((resolve) => {
          let out = "";
          child.stdout!.on("data", (d: Buffer) => {
            out += d.toString();
            const m = /URL (\S+)/.exec(out);
            if (m) resolve(m[1]!);
          });
        }),
  ]);
  exited.catch(() => undefined);
  // Errors the server logs during a run are shown, so a failing benchmark says why.
  child.stdout?.on("data", (d: Buffer) => {
    for (const line of d.toString().split("\n")) if (line.includes('"level":"error"')) process.stderr.write(`bench server: ${line.slice(0, 2000)}\n`);
  });
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Waits for a file that holds `URL <url>` and returns the url. */
async function pollFile(path: string): Promise<string> {
  for (;;) {
    if (existsSync(path)) {
      const m = /URL (\S+)/.exec(readFileSync(path, "utf8"));
      if (m) return m[1]!;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface LoadOptions {
  path: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  connections?: number;
  durationSec?: number;
  /** Stop after this many requests instead of after `durationSec`. */
  amount?: number;
}

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

export async function load(url: string, o: LoadOptions): Promise<LoadResult> {
  const r = await autocannon({
    url: url + o.path,
    method: o.method ?? "GET",
    headers: o.headers ?? {},
    ...(o.body !== undefined ? { body: o.body } : {}),
    connections: o.connections ?? 50,
    ...(o.amount !== undefined ? { amount: o.amount } : { duration: o.durationSec ?? 5 }),
  });
  return { requestsPerSec: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

export interface RatioResult {
  name: string;
  baseline: LoadResult;
  target: LoadResult;
  ratio: number;
}

/** Alternates baseline and target `rounds` times and compares their mean throughput. */
export async function compareToBaseline(url: string, name: string, target: LoadOptions, opts: { rounds?: number; durationSec?: number } = {}): Promise<RatioResult> {
  const rounds = opts.rounds ?? 3;
  const durationSec = opts.durationSec ?? target.durationSec ?? 4;
  const base: LoadResult[] = [];
  const tgt: LoadResult[] = [];
  // Warm-up: JIT, caches, connection pools.
  await load(url, { path: "/bench/hello", durationSec: 1 });
  await load(url, { ...target, durationSec: 1 });
  for (let i = 0; i < rounds; i++) {
    base.push(await load(url, { path: "/bench/hello", connections: target.connections ?? 50, durationSec }));
    tgt.push(await load(url, { ...target, durationSec }));
  }
  const mean = (xs: LoadResult[]): LoadResult => ({
    requestsPerSec: xs.reduce((s, x) => s + x.requestsPerSec, 0) / xs.length,
    p50Ms: xs.reduce((s, x) => s + x.p50Ms, 0) / xs.length,
    p99Ms: Math.max(...xs.map((x) => x.p99Ms)),
    non2xx: xs.reduce((s, x) => s + x.non2xx, 0),
    errors: xs.reduce((s, x) => s + x.errors, 0),
  });
  const b = mean(base);
  const t = mean(tgt);
  return { name, baseline: b, target: t, ratio: t.requestsPerSec / b.requestsPerSec };
}

export function ratioTable(title: string, results: RatioResult[], note: string): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${Math.round(r.baseline.requestsPerSec)} | ${Math.round(r.target.requestsPerSec)} | **${r.ratio.toFixed(2)}** | ${r.target.p50Ms.toFixed(1)} / ${r.target.p99Ms.toFixed(1)} | ${r.target.non2xx + r.target.errors} |`,
  );
  return [`### ${title}`, "", note, "", "| route | hello-world req/s | route req/s | ratio | p50 / p99 ms | non-2xx + errors |", "|---|---|---|---|---|---|", ...rows, ""].join("\n");
}

/**
 * A database of its own for one benchmark run on the PostgreSQL server of
 * BENCH_DATABASE_URL (runs never share keys or rows); `drop()` removes it.
 * `env` points a server at it with what a shared database requires (its keys
 * and a public URL: Rampart generates none for PostgreSQL).
 */
export async function benchDatabase(): Promise<{ url: string; env: Record<string, string>; drop(): Promise<void> } | undefined> {
  const admin = process.env.BENCH_DATABASE_URL;
  if (!admin) return undefined;
  const { default: pg } = await import("pg");
  const name = `rampart_bench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`create database ${name}`);
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const key = () => randomBytes(32).toString("hex");
  const env = { DATABASE_URL: u.toString(), RAMPART_PUBLIC_URL: "http://bench.test", RAMPART_SECRET_MASTER_KEY: key(), RAMPART_SECRET_BLIND_INDEX_KEY: key() };
  return { url: u.toString(), env, drop: () => run(`drop database if exists ${name} with (force)`) };
}
