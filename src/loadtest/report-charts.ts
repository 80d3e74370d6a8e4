/**
 * The report page's chart code. It runs in the browser, not in Node: the
 * HTML report inlines this function's source (`drawCharts.toString()`) after
 * uPlot's, and calls it with `window`. It is TypeScript here so that it is
 * type-checked and linted like the rest; the types below describe the few
 * browser objects it touches. It must stay self-contained (no imports, no
 * closures over this module) and declare no named inner functions, whose
 * names a development transpiler may wrap in helpers the page lacks.
 */

/** What the report embeds for the charts (a JSON script element, id `loadtest-data`). */
export interface ChartData {
  /** Unix seconds of each per-second bucket. */
  t: number[];
  endpoints: string[];
  /** P95 (ms) per endpoint, aligned with `endpoints`, one value or null per second. */
  p95: (number | null)[][];
  /** Line width 2 unless given (a wider line shows under one that follows it exactly). */
  throughput: { label: string; values: number[]; width?: number }[];
}

interface PageElement {
  textContent: string | null;
  clientWidth: number;
  dataset: Record<string, string | undefined>;
}

interface PageWindow {
  document: { getElementById(id: string): PageElement | null; body: PageElement };
  uPlot: new (options: object, data: (number | null)[][], target: PageElement) => object;
}

// The function runs only in the report's page (test/loadtest/report.test.ts draws it in Chromium),
// where Node's coverage cannot see it.
/* v8 ignore start -- @preserve */
/** Draws the latency and throughput charts; marks `body[data-charts-ready]` with how many it drew. */
export function drawCharts(win: PageWindow): void {
  const data = JSON.parse(win.document.getElementById("loadtest-data")?.textContent ?? "{}") as ChartData;
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  const latency = win.document.getElementById("chart-latency");
  const throughput = win.document.getElementById("chart-throughput");
  if (!latency || !throughput) return;
  const width = Math.max(600, Math.min(1400, latency.clientWidth || 1000));
  const axes = [{}, { label: "ms", size: 60 }];
  new win.uPlot(
    {
      title: "P95 latency per endpoint, per second (ms from the scheduled start)",
      width,
      height: 320,
      scales: { x: { time: true } },
      series: [{}].concat(data.endpoints.map((name, i) => ({ label: name, stroke: palette[i % palette.length], width: 2 }) as object)),
      axes,
    },
    [data.t as (number | null)[]].concat(data.p95),
    latency,
  );
  new win.uPlot(
    {
      title: "Throughput per second",
      width,
      height: 320,
      scales: { x: { time: true } },
      series: [{}].concat(data.throughput.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: s.width ?? 2 }) as object)),
      axes: [{}, { label: "per second", size: 60 }],
    },
    [data.t as (number | null)[]].concat(data.throughput.map((s) => s.values)),
    throughput,
  );
  win.document.body.dataset.chartsReady = "2";
}
/* v8 ignore stop -- @preserve */
