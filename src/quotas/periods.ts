/**
 * UTC calendar periods of quota meters: a day runs from 00:00 UTC, a month
 * from 00:00 UTC on its first day. Counters are keyed by the period's start,
 * so a new period starts from zero whatever the store's TTLs do (Redis
 * expires keys on its own clock, the memory store on the runtime's).
 */
import type { Period } from "./plans.js";

export interface PeriodWindow {
  period: Period;
  /** Start, milliseconds since the epoch (inclusive). */
  start: number;
  /** End, milliseconds since the epoch (exclusive): when the meter resets. */
  end: number;
}

// Every consumption asks for the current day and month: the last window of each
// period answers until it ends, without a Date and two Date.UTC calls per request.
const lastWindow = new Map<Period, PeriodWindow>();
const tags = new WeakMap<PeriodWindow, string>();

/** The window of `period` that contains `at` (frozen; the same object while `at` stays in it). */
export function windowOf(period: Period, at: number): PeriodWindow {
  const last = lastWindow.get(period);
  if (last !== undefined && at >= last.start && at < last.end) return last;
  const w = Object.freeze(computeWindow(period, at));
  lastWindow.set(period, w);
  return w;
}

function computeWindow(period: Period, at: number): PeriodWindow {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (period === "day") {
    const start = Date.UTC(y, m, d.getUTCDate());
    return { period, start, end: Date.UTC(y, m, d.getUTCDate() + 1) };
  }
  return { period, start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
}

/** A compact, sortable tag of a window's start for store keys: `d20260101` or `m202601`. */
export function windowTag(w: PeriodWindow): string {
  let tag = tags.get(w);
  if (tag === undefined) {
    const iso = new Date(w.start).toISOString();
    tag = w.period === "day" ? `d${iso.slice(0, 10).replace(/-/g, "")}` : `m${iso.slice(0, 7).replace(/-/g, "")}`;
    tags.set(w, tag);
  }
  return tag;
}

/** Whole seconds from `now` until `resetsAt` (at least 1), for Retry-After. */
export function secondsUntilReset(resetsAt: number, now: number): number {
  return Math.max(1, Math.ceil((resetsAt - now) / 1000));
}
