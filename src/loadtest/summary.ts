/** The terminal views of a run: the live line while it runs and the table at the end. */
import { ENDPOINTS } from "./budgets.js";
import type { Calibration } from "./calibrate.js";
import type { LiveTick, LoadTestResult } from "./run.js";

const secs = (ms: number) => `${Math.floor(ms / 1000)}s`;
const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/** One line: elapsed, current rate, in flight, P95 per endpoint (last second), errors, 429s, dropped. */
export function liveLine(t: LiveTick): string {
  const p95 = ENDPOINTS.filter((e) => t.p95[e] !== undefined && t.p95[e] !== null)
    .map((e) => `${e} ${Math.round(t.p95[e]!)}`)
    .join(" ");
  const errPct = t.requests > 0 ? ((t.errors / t.requests) * 100).toFixed(2) : "0.00";
  return `${secs(t.elapsedMs)}/${secs(t.durationMs)}  ${t.rate}/s  in flight ${t.inFlight}  p95 ms: ${p95 || "-"}  errors ${t.errors} (${errPct}%)  429 ${t.throttled}  dropped ${t.dropped}`;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), ...rows.map(line)].map((l) => l.trimEnd()).join("\n");
}

/** The calibration as lines. */
export function formatCalibration(c: Calibration): string {
  const rows = c.steps.map((s) => [String(s.rate), String(s.scheduled), String(s.completed), String(s.errors + s.dropped), num(s.p99Ms), s.held ? "held" : "not held"]);
  return `${table(["requests/s", "scheduled", "completed", "failed", "p99 ms", ""], rows)}\nceiling: ${c.ceiling} requests/s (the highest rate that held; ${c.stepMs} ms per step, bare node:http hello-world on loopback)\n`;
}

/** The end-of-run summary: endpoints, phases, journeys, test data and the verdict of every check. */
export function formatResult(r: LoadTestResult): string {
  const out: string[] = [];
  out.push(`rampart loadtest: ${r.scenario.name} at ${r.scenario.rate} journeys/s for ${r.scenario.durationMs / 1000} s against ${r.target}`);
  const rows = Object.entries(r.endpoints)
    .filter(([, s]) => s.requests > 0)
    .map(([name, s]) => {
      const budget = r.budgets.p95Ms[name as keyof typeof r.budgets.p95Ms];
      const throttled = Object.values(s.throttled).reduce((a, b) => a + b, 0);
      return [name, String(s.requests), String(s.ok), String(s.expected), String(s.errors), String(throttled), num(s.latencyMs.p50), num(s.latencyMs.p95), num(s.latencyMs.p99), num(s.latencyMs.max), budget === undefined ? "-" : String(budget)];
    });
  out.push("", table(["endpoint", "requests", "ok", "expected", "errors", "429", "p50 ms", "p95 ms", "p99 ms", "max ms", "p95 budget"], rows));
  out.push("(latency from the scheduled start: coordinated-omission corrected)");
  if (r.phases.length > 1) {
    const names = ENDPOINTS.filter((e) => (r.endpoints[e]?.requests ?? 0) > 0);
    out.push("", table(["phase p95 ms", ...names], r.phases.map((p) => [p.name, ...names.map((e) => (p.endpoints[e]?.requests ? num(p.endpoints[e].p95) : "-"))])));
  }
  const dropped = Object.entries(r.arrivals.dropped).map(([k, n]) => `${k} ${n}`);
  out.push("", `arrivals: ${r.arrivals.scheduled} scheduled, ${r.arrivals.started} started, ${dropped.length ? `dropped ${dropped.join(", ")}` : "none dropped"}${r.arrivals.interrupted ? " (interrupted)" : ""}`);
  out.push(`journeys (completed/started): ${Object.entries(r.journeys).map(([name, c]) => `${name} ${c.completed}/${c.started}`).join(", ")}`);
  out.push(`test data: ${r.setup.accounts} accounts, ${r.setup.apiKeys} API keys${r.setup.retired ? `, ${r.setup.retired} retired during the run` : ""}; removed ${r.cleanup.removed}, absent ${r.cleanup.absent}, left over ${r.cleanup.leftover.length}`);
  const c = r.generator.calibration;
  out.push(`generator: offered peak about ${r.generator.peakRequestsPerSecond} requests/s${c ? `; ceiling ${c.ceiling} requests/s` : ""}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  const failed = r.budgets.checks.filter((x) => !x.ok);
  out.push("", failed.length === 0 ? "PASSED: every budget held" : `FAILED:\n${failed.map((x) => `  ${x.message}`).join("\n")}`);
  return `${out.join("\n")}\n`;
}
