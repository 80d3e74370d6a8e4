/**
 * Memory under sustained load: the server's resident set after the first
 * 100,000 requests of protected `GET /v1/me` and after 2,000,000 (goal: within
 * 10 % — no per-request growth), default configuration, embedded. The RSS is
 * read from /proc of the server's own process once the load generator stopped.
 *
 * BENCH_MEMORY_REQUESTS (default 2000000) sets the length of the run.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load, startBenchServer } from "../lib/http.js";
import { accessToken, defaultConfiguration } from "./pipeline.bench.js";

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) / 1024;
}

export async function run(): Promise<string> {
  const total = Number(process.env.BENCH_MEMORY_REQUESTS ?? 2_000_000);
  const first = 100_000;
  const dir = mkdtempSync(join(tmpdir(), "rampart-bench-mem-"));
  const server = await startBenchServer(defaultConfiguration(join(dir, "data")), { logFile: join(dir, "server.log") });
  try {
    const headers = { authorization: `Bearer ${await accessToken(server.url)}` };
    const started = Date.now();
    await load(server.url, { path: "/v1/me", headers, connections: 50, amount: first });
    const early = rssMiB(server.pid);
    let done = first;
    const samples: string[] = [`| ${done.toLocaleString("en")} | ${early.toFixed(0)} |`];
    const step = Math.max(first, Math.floor((total - first) / 4));
    while (done < total) {
      const n = Math.min(step, total - done);
      const r = await load(server.url, { path: "/v1/me", headers, connections: 50, amount: n });
      if (r.errors > 0 || r.non2xx > 0) throw new Error(`memory bench: ${r.errors} errors, ${r.non2xx} non-2xx`);
      done += n;
      samples.push(`| ${done.toLocaleString("en")} | ${rssMiB(server.pid).toFixed(0)} |`);
    }
    const last = rssMiB(server.pid);
    const growth = (last / early - 1) * 100;
    return [
      "### Memory under sustained load",
      "",
      `Protected \`GET /v1/me\`, embedded, default configuration, 50 connections, ${total.toLocaleString("en")} requests in ${Math.round((Date.now() - started) / 1000)} s. Goal: the RSS after the last request within 10 % of the RSS after the first ${first.toLocaleString("en")}.`,
      "",
      "| requests served | server RSS MiB |",
      "|---|---|",
      ...samples,
      "",
      `Growth: **${growth >= 0 ? "+" : ""}${growth.toFixed(1)} %** (${growth <= 10 ? "met" : "missed"}).`,
      "",
    ].join("\n");
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
