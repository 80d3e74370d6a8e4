/**
 * Budgets: a P95 latency limit per endpoint (from the scheduled start) and an
 * error-rate limit that every endpoint must keep. A run passes when every
 * budget holds and every scheduled arrival started; each miss is named.
 */
import type { EndpointStats } from "./recorder.js";

/** The measured endpoints; budgets and reports name them so. */
export const ENDPOINTS = ["register", "login", "me", "me-apikey", "refresh", "logout"] as const;
export type EndpointName = (typeof ENDPOINTS)[number];

/** What each endpoint is on the wire. */
export const ENDPOINT_ROUTES: Record<EndpointName, string> = {
  register: "POST /v1/auth/register",
  login: "POST /v1/auth/login",
  me: "GET /v1/me (access token)",
  "me-apikey": "GET /v1/me (API key)",
  refresh: "POST /v1/auth/refresh",
  logout: "POST /v1/auth/logout",
};

/** Default P95 budgets in ms: login 500, refresh 300, protected routes 500, logout 300 (registration has none). */
export const DEFAULT_P95_MS: Partial<Record<EndpointName, number>> = { login: 500, refresh: 300, me: 500, "me-apikey": 500, logout: 300 };
export const DEFAULT_ERROR_RATE_PCT = 1;

export interface Budgets {
  p95Ms: Partial<Record<EndpointName, number>>;
  /** Highest error rate (percent of requests) any endpoint may have. */
  errorRatePct: number;
}

export interface BudgetCheck {
  /** An endpoint; `arrivals`, `run` and `clean-up` for the checks of the run itself. */
  subject: string;
  metric: "p95" | "error-rate" | "dropped" | "interrupted" | "crashed" | "leftover";
  limit: number;
  actual: number;
  ok: boolean;
  /** One line naming the subject, the measured value and the limit. */
  message: string;
}

/** Where the report and the messages send an operator whose run was throttled. */
export const SIZING_HINT = "size the target's rate limits for a load test: docs/loadtest.md#rate-limits";

const pct = (n: number) => `${Number(n.toFixed(2))}%`;
const ms = (n: number) => `${Number(n.toFixed(1))} ms`;

/** Checks every budget against the measured endpoints and the arrivals that were dropped. */
export function evaluateBudgets(endpoints: Record<string, EndpointStats>, budgets: Budgets, dropped: Record<string, number>): BudgetCheck[] {
  const checks: BudgetCheck[] = [];
  for (const name of ENDPOINTS) {
    const s = endpoints[name];
    if (!s || s.requests === 0) continue;
    const limit = budgets.p95Ms[name];
    if (limit !== undefined) {
      const ok = s.latencyMs.p95 <= limit;
      checks.push({ subject: name, metric: "p95", limit, actual: s.latencyMs.p95, ok, message: `${name}: P95 ${ms(s.latencyMs.p95)} ${ok ? "within" : "over"} the budget of ${ms(limit)}` });
    }
    const rate = (s.errors / s.requests) * 100;
    const ok = rate <= budgets.errorRatePct;
    const throttled = Object.entries(s.throttled).map(([code, n]) => `${n}× 429 ${code}`);
    const detail = throttled.length > 0 ? ` (${throttled.join(", ")}: ${SIZING_HINT})` : "";
    checks.push({ subject: name, metric: "error-rate", limit: budgets.errorRatePct, actual: Number(rate.toFixed(3)), ok, message: `${name}: error rate ${pct(rate)} (${s.errors} of ${s.requests}) ${ok ? "within" : "over"} the budget of ${pct(budgets.errorRatePct)}${ok ? "" : detail}` });
  }
  const total = Object.values(dropped).reduce((a, b) => a + b, 0);
  const reasons = Object.entries(dropped).map(([r, n]) => `${r}: ${n}`).join(", ");
  checks.push({
    subject: "arrivals",
    metric: "dropped",
    limit: 0,
    actual: total,
    ok: total === 0,
    message: total === 0 ? "arrivals: every scheduled journey started" : `arrivals: ${total} scheduled journeys dropped (${reasons}); the offered load was not delivered: raise --max-in-flight or --accounts, or lower --rate`,
  });
  return checks;
}
