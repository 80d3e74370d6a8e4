/**
 * Wire form of quota states. `X-Quota-Warning` is a structured-field list
 * (RFC 8941), one member per meter window at or above the warning ratio:
 *
 *   X-Quota-Warning: "api.requests";period="day";used=8001;limit=10000;reset="2026-01-02T00:00:00.000Z"
 *
 * A refusal (`429 QUOTA_EXCEEDED`) carries `Retry-After` in seconds and the
 * same facts in the error's `details`.
 */
import type { Period } from "./plans.js";

/** One meter in one period window, as reported to clients. */
export interface MeterState {
  meter: string;
  period: Period;
  used: number;
  /** null = unlimited under the user's plan. */
  limit: number | null;
  /** When the window ends and the meter starts from zero (ms since the epoch). */
  resetsAt: number;
}

export const WARNING_HEADER = "x-quota-warning";

/** The X-Quota-Warning value for states at or above the warning ratio. */
export function formatWarning(states: readonly MeterState[]): string {
  return states
    .map((s) => `"${s.meter}";period="${s.period}";used=${s.used};limit=${s.limit ?? 0};reset="${new Date(s.resetsAt).toISOString()}"`)
    .join(", ");
}

/** Joins a new warning to one already on the response (several meters in one request). */
export function appendWarning(existing: unknown, next: string): string {
  return typeof existing === "string" && existing !== "" ? `${existing}, ${next}` : next;
}
