/**
 * The HTML report, opened in Debian's Chromium through playwright-core: its
 * inlined uPlot draws both charts with their series, offline, under the
 * page's own Content-Security-Policy. The report embeds what a target
 * answered (error messages) and what the operator typed (the URL); a hostile
 * server or URL must not inject markup or script into it: such strings are
 * rendered as text.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_P95_MS, ENDPOINT_ROUTES, ENDPOINTS, evaluateBudgets } from "../../src/loadtest/budgets.js";
import { Recorder } from "../../src/loadtest/recorder.js";
import { chartData, renderHtmlReport, scriptJson } from "../../src/loadtest/report-html.js";
import type { LoadTestResult } from "../../src/loadtest/run.js";
import { scenarios } from "../../src/loadtest/scenarios.js";
import { phasesOf } from "../../src/loadtest/shape.js";
import { formatResult, liveLine } from "../../src/loadtest/summary.js";

const HOSTILE_MESSAGE = `<img src=x onerror="window.__pwned='message'"></q><script>window.__pwned='script'</script>`;
const HOSTILE_TARGET = `http://127.0.0.1:8080/</title><script>window.__pwned='target'</script>`;
const HOSTILE_KIND = "500 <b>INTERNAL</b>\u2028";

/** A result made by the real recorder from 20 seconds of synthetic samples, with hostile strings where a target's answers go. */
function fixture(): LoadTestResult {
  const scenario = scenarios.stress;
  const shape = scenario.shape(20, 20_000);
  const phases = phasesOf(shape);
  const rec = new Recorder({ startedAt: 0, phases, endpoints: ENDPOINTS });
  for (let t = 0; t < 20_000; t += 50) {
    rec.scheduled(t);
    rec.started(t);
    ENDPOINTS.forEach((endpoint, i) => {
      const latency = 20 + i * 30 + (t / 20_000) * 200 + ((t / 50) % 7) * 5;
      rec.record({ endpoint, scheduledAt: t, sentAt: t + 1, endedAt: t + latency, status: 200, outcome: "ok" });
    });
  }
  rec.record({ endpoint: "logout", scheduledAt: 19_000, sentAt: 19_000, endedAt: 19_010, status: 500, outcome: "error", kind: HOSTILE_KIND, message: HOSTILE_MESSAGE });
  rec.record({ endpoint: "refresh", scheduledAt: 19_100, sentAt: 19_100, endedAt: 19_110, status: 429, outcome: "error", kind: "429 RATE_LIMITED", message: "Too many requests." });
  rec.finish(20_500);
  const endpoints = Object.fromEntries(Object.entries(rec.endpointStats()).map(([n, s]) => [n, { ...s, route: ENDPOINT_ROUTES[n as keyof typeof ENDPOINT_ROUTES] }]));
  const budgets = { p95Ms: DEFAULT_P95_MS, errorRatePct: 1 };
  const checks = evaluateBudgets(endpoints, budgets, {});
  return {
    tool: "rampart loadtest",
    version: "test",
    target: HOSTILE_TARGET,
    startedAt: "2026-01-01T00:00:00.000Z",
    scenario: { name: scenario.name, summary: scenario.summary, rate: 20, durationMs: 20_000, thinkMs: scenario.thinkMs, mix: scenario.mix, phases },
    generator: { client: "node:http keep-alive Agent", maxInFlight: 1000, peakRequestsPerSecond: 120 },
    arrivals: { expected: 400, scheduled: 400, started: 400, dropped: {}, interrupted: false },
    journeys: { "new-user": { started: 40, completed: 40, failed: 0 }, "returning-user": { started: 200, completed: 200, failed: 0 }, "wrong-password": { started: 40, completed: 40, failed: 0 }, "api-key": { started: 120, completed: 119, failed: 1 } },
    endpoints,
    phases: rec.phaseStats(),
    timeline: rec.timeline(),
    budgets: { ...budgets, checks },
    passed: checks.every((c) => c.ok),
    setup: { accounts: 10, apiKeys: 2, requests: 14, throttled: 0, durationMs: 500, retired: 0 },
    cleanup: { removed: 50, absent: 0, leftover: [], requests: 100, throttled: 0, durationMs: 900 },
    warnings: [`a warning with <i>markup</i> & ${HOSTILE_MESSAGE}`],
  };
}

const dir = mkdtempSync(join(tmpdir(), "rampart-report-"));
let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("HTML report", { timeout: 120_000 }, () => {
  it("escapes the chart data so that no string can end its script element", () => {
    const json = scriptJson({ s: "</script><!-- \u2028 & >" });
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual({ s: "</script><!-- \u2028 & >" });
    const data = chartData(fixture());
    expect(data.endpoints).toEqual([...ENDPOINTS]);
    expect(data.t).toHaveLength(21);
  });

  it("draws the latency and throughput charts in Chromium, offline, and shows hostile strings as text", async () => {
    const file = join(dir, "report.html");
    writeFileSync(file, renderHtmlReport(fixture()));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    // Nothing may be fetched: the report is one file.
    const requests: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("file://")) requests.push(r.url());
    });
    await page.goto(`file://${file}`);
    await page.waitForSelector("body[data-charts-ready='2']", { timeout: 30_000 });

    const charts = await page.evaluate(() => {
      const doc = (globalThis as any).document;
      return [...doc.querySelectorAll(".uplot")].map((u: any) => {
        const canvas = u.querySelector("canvas");
        const ctx = canvas.getContext("2d");
        const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
        const colours = new Set<string>();
        let painted = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] === 0) continue;
          painted++;
          colours.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
        }
        return { title: u.querySelector(".u-title")?.textContent, series: [...u.querySelectorAll(".u-legend .u-series .u-label")].map((s: any) => s.textContent), painted, colours: [...colours] };
      });
    });
    expect(charts.map((c) => c.title)).toEqual(["P95 latency per endpoint, per second (ms from the scheduled start)", "Throughput per second"]);
    expect(charts[0]!.series).toEqual(["Time", ...ENDPOINTS]);
    expect(charts[1]!.series).toEqual(["Time", "journeys scheduled", "journeys started", "journeys dropped", "requests completed", "errors", "429"]);
    for (const c of charts) {
      // Lines were drawn: the colours of the first series are on the canvas, give or take anti-aliasing.
      expect(c.painted).toBeGreaterThan(1000);
      const near = (hex: string) => {
        const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
        return c.colours.filter((k) => k.split(",").every((v, i) => Math.abs(Number(v) - rgb[i]!) <= 12)).length;
      };
      for (const colour of ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"]) expect(near(colour), `${c.title} ${colour}`).toBeGreaterThan(0);
    }

    const page_ = await page.evaluate(() => {
      const w = globalThis as any;
      const doc = w.document;
      return { pwned: w.__pwned ?? null, title: doc.title, imgs: doc.querySelectorAll("img").length, bold: doc.querySelectorAll("b").length, italics: doc.querySelectorAll("i").length, text: doc.body.innerText as string, scripts: doc.querySelectorAll("script").length };
    });
    expect(page_.pwned).toBeNull();
    expect(page_.imgs).toBe(0);
    expect(page_.italics).toBe(0);
    expect(page_.scripts).toBe(3);
    // The endpoint names in the error list are the only <b> elements.
    expect(page_.bold).toBe(2);
    expect(page_.title).toBe(`Load test: stress at 20/s — ${HOSTILE_TARGET}`);
    expect(page_.text).toContain(HOSTILE_MESSAGE);
    expect(page_.text).toContain("500 <b>INTERNAL</b>");
    expect(page_.text).toContain(`Target ${HOSTILE_TARGET}`);
    expect(page_.text).toContain("429 RATE_LIMITED × 1");
    expect(page_.text).toContain("a warning with <i>markup</i> &");
    expect(requests).toEqual([]);
    expect(problems).toEqual([]);
    const png = await page.screenshot({ fullPage: true });
    expect(png.length).toBeGreaterThan(10_000);
    await page.close();
  });
});

describe("terminal summary", () => {
  it("a run of several phases has a P95 table per phase, over the endpoints that had requests", () => {
    const result = fixture();
    const text = formatResult(result);
    const lines = text.split("\n");
    const head = lines.findIndex((l) => l.startsWith("phase p95 ms"));
    expect(head, text).toBeGreaterThan(0);
    const active = ENDPOINTS.filter((e) => (result.endpoints[e]?.requests ?? 0) > 0);
    expect(lines[head]!.split(/\s{2,}/)).toEqual(["phase p95 ms", ...active]);
    const rows = lines.slice(head + 1, head + 1 + result.phases.length);
    expect(result.phases.length).toBeGreaterThan(1);
    rows.forEach((row, i) => {
      const cells = row.split(/\s{2,}/);
      const phase = result.phases[i]!;
      expect(cells[0]).toBe(phase.name);
      active.forEach((e, j) => {
        const stats = phase.endpoints[e];
        expect(cells[j + 1]).toBe(stats?.requests ? String(Number.isInteger(stats.p95) ? stats.p95 : stats.p95.toFixed(1)) : "-");
      });
    });
  });
});

describe("live line", () => {
  const tick = { elapsedMs: 12_400, durationMs: 60_000, rate: 20, inFlight: 3, requests: 0, errors: 0, throttled: 0, dropped: 0 };

  it("before any request: no P95 and an error rate of 0.00 %, not a division by zero", () => {
    const line = liveLine({ ...tick, p95: {} });
    expect(line).toContain("12s/60s  20/s  in flight 3  p95 ms: -  errors 0 (0.00%)");
  });

  it("shows the P95 of the endpoints measured in the last second only, and the error rate of the requests", () => {
    const line = liveLine({ ...tick, requests: 400, errors: 3, throttled: 2, dropped: 1, p95: { login: 181.6, me: null, refresh: 9.2 } });
    expect(line).toContain("p95 ms: login 182 refresh 9  errors 3 (0.75%)  429 2  dropped 1");
    expect(line).not.toContain("me ");
  });
});

describe("terminal summary of endpoints a phase or the run did not reach", () => {
  it("a phase without requests to an endpoint shows '-', and an endpoint absent from the run has no column", () => {
    const result = fixture();
    const [first, ...rest] = result.phases;
    const active = ENDPOINTS.filter((e) => (result.endpoints[e]?.requests ?? 0) > 0);
    const [absent, quiet] = [active[active.length - 1]!, active[0]!];
    const endpoints = Object.fromEntries(Object.entries(result.endpoints).filter(([name]) => name !== absent));
    const firstEndpoints = Object.fromEntries(Object.entries(first!.endpoints).filter(([name]) => name !== quiet));
    const text = formatResult({ ...result, endpoints, phases: [{ ...first!, endpoints: firstEndpoints }, ...rest] } as LoadTestResult);
    const lines = text.split("\n");
    const head = lines.findIndex((l) => l.startsWith("phase p95 ms"));
    const columns = lines[head]!.split(/\s{2,}/);
    expect(columns).not.toContain(absent);
    expect(lines[head + 1]!.split(/\s{2,}/)[columns.indexOf(quiet)]).toBe("-");
  });
});

describe("HTML report of a short run", () => {
  it("one phase: no per-phase table; an interrupted, calibrated run says both", () => {
    const result = fixture();
    const html = renderHtmlReport({
      ...result,
      phases: result.phases.slice(0, 1),
      arrivals: { ...result.arrivals, interrupted: true },
      generator: { ...result.generator, calibration: { ceiling: 4200, stepMs: 1000, steps: [] } },
    } as LoadTestResult);
    expect(html).not.toContain("P95 per phase");
    expect(html).toMatch(/0 dropped, interrupted\. Journeys/);
    expect(html).toContain("ceiling 4200 requests/s on this host");
    expect(renderHtmlReport(result)).toContain("P95 per phase");
    expect(renderHtmlReport(result)).toContain("not calibrated in this run");
  });

  it("counts a phase's errors beside its P95, and lists an error kind whose samples had no message as kind and count", () => {
    const result = fixture();
    const [first, ...rest] = result.phases;
    const [name, stats] = Object.entries(first!.endpoints).find(([, st]) => st.requests > 0)!;
    const me = result.endpoints.me!;
    const html = renderHtmlReport({
      ...result,
      phases: [{ ...first!, endpoints: { ...first!.endpoints, [name]: { ...stats, errors: 3 } } }, ...rest],
      endpoints: { ...result.endpoints, me: { ...me, errorKinds: [{ kind: "timeout", count: 2, example: "" }] } },
    } as LoadTestResult);
    expect(html).toContain(" (3 errors)</td>");
    expect(html).toContain("<li><b>me</b> timeout × 2</li>");
  });
});

describe("terminal summary of the test data", () => {
  it("names the accounts retired during the run (taken out of the pool) only when there were some", () => {
    const result = fixture();
    expect(formatResult({ ...result, setup: { ...result.setup, retired: 0 } })).not.toContain("retired during the run");
    expect(formatResult({ ...result, setup: { ...result.setup, retired: 2 } })).toMatch(/API keys, 2 retired during the run; removed/);
  });
});
