/**
 * A bar chart drawn by uPlot (canvas), for the usage dashboard. The numbers it
 * draws are also in a table next to it, which is what screen readers read.
 */
import { useEffect, useRef } from "react";
import uPlot from "uplot";

export interface Bars {
  labels: string[];
  values: number[];
  /** A horizontal reference (the plan's limit), if any. */
  limit?: number | null;
}

export function BarChart({ title, data, width = 480, height = 220 }: { title: string; data: Bars; width?: number; height?: number }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const xs = data.labels.map((_, i) => i);
    const series: uPlot.Series[] = [{ label: "user", value: (_u, v) => (v === null ? "—" : (data.labels[v] ?? "")) }, { label: title, stroke: "#1d4ed8", fill: "rgba(29, 78, 216, 0.35)", paths: uPlot.paths.bars!({ size: [0.6, 80] }), points: { show: false } }];
    const columns: uPlot.AlignedData = [xs, data.values];
    if (data.limit !== undefined && data.limit !== null) {
      series.push({ label: "limit", stroke: "#b91c1c", dash: [6, 4], points: { show: false } });
      (columns as number[][]).push(xs.map(() => data.limit as number));
    }
    const w = Math.max(240, Math.min(width, el.clientWidth || width));
    const plot = new uPlot(
      {
        width: w,
        height,
        series,
        legend: { show: true },
        cursor: { show: true, points: { show: false } },
        scales: { x: { time: false, range: [-0.5, Math.max(0.5, xs.length - 0.5)] }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
        axes: [{ values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? (data.labels[v] ?? "") : "")), incrs: [1] }, { size: 60 }],
      },
      columns,
      el,
    );
    return () => plot.destroy();
  }, [data, title, width, height]);
  return <div ref={host} className="chart" role="img" aria-label={`${title}: bar chart (the same numbers are in the table below)`} data-testid="chart" />;
}
