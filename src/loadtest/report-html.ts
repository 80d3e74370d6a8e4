/**
 * The HTML report: one self-contained file (uPlot's script and stylesheet are
 * read from its package at report time and inlined), so it opens offline.
 *
 * Everything it embeds from the run — the URL, endpoint names, server error
 * messages — is text: escaped in the markup, and in the chart data (a JSON
 * script element) with `<`, `>`, `&` and the JavaScript line separators as
 * \u escapes, so no answer of the target can close the element or inject
 * markup. A Content-Security-Policy allows only the page's own inline
 * script and style, by hash, and nothing from the network.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ENDPOINTS } from "./budgets.js";
import { uplotFile } from "./packages.js";
import { drawCharts, type ChartData } from "./report-charts.js";
import type { LoadTestResult } from "./run.js";

/** HTML-escapes text for element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a script element (and as JavaScript source). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

function uplotAssets(): { script: string; style: string } {
  const read = (file: string) => readFileSync(uplotFile(file), "utf8");
  const script = read("uPlot.iife.min.js");
  // Inlined in a script element: the text must not be able to end it.
  if (/<\/script|<!--/i.test(script)) throw new Error("uPlot's script contains a sequence that would end an inline script element");
  return { script, style: read("uPlot.min.css") };
}

/** The chart series of a result. */
export function chartData(result: LoadTestResult): ChartData {
  const start = Math.floor(Date.parse(result.startedAt) / 1000);
  const endpoints = ENDPOINTS.filter((e) => (result.endpoints[e]?.requests ?? 0) > 0) as string[];
  const tl = result.timeline;
  return {
    t: tl.map((s) => start + s.t),
    endpoints,
    p95: endpoints.map((e) => tl.map((s) => s.p95[e] ?? null)),
    throughput: [
      // Started follows scheduled exactly while nothing is dropped: the wider line stays visible under it.
      { label: "journeys scheduled", values: tl.map((s) => s.scheduled), width: 6 },
      { label: "journeys started", values: tl.map((s) => s.started) },
      { label: "journeys dropped", values: tl.map((s) => s.dropped) },
      { label: "requests completed", values: tl.map((s) => s.completed) },
      { label: "errors", values: tl.map((s) => s.errors) },
      { label: "429", values: tl.map((s) => s.throttled) },
    ],
  };
}

const td = (v: string | number, cls = "") => `<td${cls ? ` class="${cls}"` : ""}>${escapeHtml(String(v))}</td>`;
const th = (v: string) => `<th>${escapeHtml(v)}</th>`;
const ms = (n: number) => Number(n.toFixed(1));

function endpointTable(result: LoadTestResult): string {
  const rows = Object.entries(result.endpoints)
    .filter(([, s]) => s.requests > 0)
    .map(([name, s]) => {
      const budget = result.budgets.p95Ms[name as keyof typeof result.budgets.p95Ms];
      const throttled = Object.values(s.throttled).reduce((a, b) => a + b, 0);
      const over = budget !== undefined && s.latencyMs.p95 > budget;
      return `<tr>${td(name)}${td(s.route)}${td(s.requests)}${td(s.ok)}${td(s.expected)}${td(s.errors, s.errors ? "bad" : "")}${td(throttled, throttled ? "bad" : "")}${td(ms(s.latencyMs.p50))}${td(ms(s.latencyMs.p95), over ? "bad" : "")}${td(ms(s.latencyMs.p99))}${td(ms(s.latencyMs.max))}${td(ms(s.serviceMs.p95))}${td(budget === undefined ? "—" : `${budget} ms`)}</tr>`;
    });
  const head = ["endpoint", "route", "requests", "ok", "expected", "errors", "429", "p50 ms", "p95 ms", "p99 ms", "max ms", "p95 from send", "p95 budget"].map(th).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function phaseTable(result: LoadTestResult): string {
  if (result.phases.length < 2) return "";
  const names = ENDPOINTS.filter((e) => (result.endpoints[e]?.requests ?? 0) > 0);
  const rows = result.phases.map((p) => `<tr>${td(p.name)}${td(`${p.startMs / 1000}–${p.endMs / 1000} s`)}${names.map((e) => td(p.endpoints[e]?.requests ? `${ms(p.endpoints[e].p95)}${p.endpoints[e].errors ? ` (${p.endpoints[e].errors} errors)` : ""}` : "—")).join("")}</tr>`);
  return `<h2>P95 per phase (ms)</h2><table><thead><tr>${th("phase")}${th("time")}${names.map(th).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function errorList(result: LoadTestResult): string {
  const items = Object.entries(result.endpoints).flatMap(([name, s]) => s.errorKinds.map((k) => `<li><b>${escapeHtml(name)}</b> ${escapeHtml(k.kind)} × ${k.count}${k.example ? `: <q>${escapeHtml(k.example)}</q>` : ""}</li>`));
  return items.length ? `<h2>Errors</h2><ul class="errors">${items.join("")}</ul>` : "";
}

function generatorSection(result: LoadTestResult): string {
  const c = result.generator.calibration;
  const ceiling = c ? `ceiling ${c.ceiling} requests/s on this host (bare node:http hello-world on loopback, ${c.stepMs} ms steps)` : "not calibrated in this run (rampart loadtest --calibrate)";
  const warnings = result.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("");
  return `<h2>Generator</h2><p>${escapeHtml(`${result.generator.client}; at most ${result.generator.maxInFlight} journeys in flight; offered peak about ${result.generator.peakRequestsPerSecond} requests/s; ${ceiling}.`)}</p>${warnings ? `<ul class="warnings">${warnings}</ul>` : ""}`;
}

/** Renders the report of a result; see the module comment. */
export function renderHtmlReport(result: LoadTestResult): string {
  const { script: uplot, style: uplotStyle } = uplotAssets();
  const style = `${uplotStyle}
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child,td:nth-child(2){text-align:left}
.bad{color:#b00020;font-weight:600}.pass{color:#1b7f3b}.fail{color:#b00020}q{font-family:monospace}#charts>div{margin:16px 0}`;
  const draw = `(${drawCharts.toString()})(window);`;
  const csp = `default-src 'none'; script-src ${sha256(uplot)} ${sha256(draw)}; style-src ${sha256(style)}; img-src data:`;
  const r = result;
  const failed = r.budgets.checks.filter((c) => !c.ok);
  const verdict = r.passed ? `<p class="pass">Every budget held.</p>` : `<p class="fail">Failed:</p><ul class="fail">${failed.map((c) => `<li>${escapeHtml(c.message)}</li>`).join("")}</ul>`;
  const j = Object.entries(r.journeys).map(([name, c]) => `${name} ${c.completed}/${c.started}`).join(", ");
  const dropped = Object.values(r.arrivals.dropped).reduce((a, b) => a + b, 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<title>${escapeHtml(`Load test: ${r.scenario.name} at ${r.scenario.rate}/s — ${r.target}`)}</title>
<style>${style}</style></head>
<body>
<h1>${escapeHtml(`rampart loadtest: ${r.scenario.name} at ${r.scenario.rate} journeys/s for ${r.scenario.durationMs / 1000} s`)}</h1>
<p>${escapeHtml(`Target ${r.target}, started ${r.startedAt}, rampart ${r.version}. ${r.scenario.summary}; think time ${r.scenario.thinkMs} ms.`)}</p>
${verdict}
<p>${escapeHtml(`Arrivals: ${r.arrivals.scheduled} scheduled, ${r.arrivals.started} started, ${dropped} dropped${r.arrivals.interrupted ? ", interrupted" : ""}. Journeys completed/started: ${j}.`)}</p>
<div id="charts"><div id="chart-latency"></div><div id="chart-throughput"></div></div>
<h2>Endpoints</h2>
<p>${escapeHtml("Latency runs from the scheduled start (coordinated-omission corrected); \u201cp95 from send\u201d is the uncorrected time of the request alone.")}</p>
${endpointTable(r)}
${phaseTable(r)}
${errorList(r)}
${generatorSection(r)}
<h2>Test data</h2>
<p>${escapeHtml(`Set-up: ${r.setup.accounts} accounts (${r.setup.apiKeys} with an API key) in ${r.setup.durationMs} ms, ${r.setup.throttled} 429s waited out, ${r.setup.retired} retired during the run. Clean-up: ${r.cleanup.removed} removed, ${r.cleanup.absent} absent, ${r.cleanup.leftover.length} left over.`)}</p>
<script type="application/json" id="loadtest-data">${scriptJson(chartData(r))}</script>
<script>${uplot}</script>
<script>${draw}</script>
</body></html>
`;
}
