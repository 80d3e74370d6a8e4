/**
 * Readiness checks. Each dependency registers a probe; `runChecks` runs them in
 * parallel, each under its own timeout, and reports in the health+json shape
 * (draft-inadarei-api-health-check): `status` pass | warn | fail and `checks`
 * keyed "component:measurement".
 *
 * Readiness answers "should the load balancer send this instance traffic?".
 * `fail` (503) means this instance cannot serve while others may: its keys do
 * not open the KEK, its credentials are refused, a capability past its
 * degradation bound. A dependency every instance shares (PostgreSQL, Redis)
 * being unreachable is `warn` (200): every instance sees the same outage, so
 * failing readiness everywhere would leave the balancer nothing to route to
 * and turn a degradation into a full outage; the routes that need the
 * dependency answer 503 with Retry-After themselves, and a capability that
 * can no longer serve at all reports `fail` through a check of its own
 * (`revocations` once REVOCATION_STALE_MAX_MS has run out).
 */

export type HealthStatus = "pass" | "warn" | "fail";

export interface CheckResult {
  status: HealthStatus;
  /** Why it is not passing (never a secret or an internal stack). */
  output?: string;
}

export interface HealthCheck {
  /** Component name, e.g. "database", "kv". */
  name: string;
  /** Resolves with a result (pass when void), or rejects (= fail, or warn for a shared dependency). */
  probe: () => Promise<CheckResult | void>;
  /**
   * The name operators know a dependency by (`postgresql`, `redis`) when every
   * instance shares it: a probe that rejects or times out then reports `warn`,
   * naming it, instead of `fail`. Faults of this instance alone (refused
   * credentials, a certificate it rejects) are returned as `fail` by the probe.
   */
  shared?: string;
}

export interface CheckReport {
  componentId: string;
  status: HealthStatus;
  observedValue: number;
  observedUnit: "ms";
  time: string;
  output?: string;
}

export interface HealthReport {
  status: HealthStatus;
  checks: Record<string, CheckReport[]>;
}

class CheckTimeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CheckTimeout(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const RANK: Record<HealthStatus, number> = { pass: 0, warn: 1, fail: 2 };

export interface RunChecksOptions {
  timeoutMs: number;
  now?: () => number;
  /** Receives the real error of a failed check (for the log); the report only says "unreachable" or "timed out". */
  onFailure?: (name: string, err: unknown) => void;
}

export async function runChecks(checks: readonly HealthCheck[], options: RunChecksOptions): Promise<HealthReport> {
  const { timeoutMs, now = Date.now, onFailure } = options;
  const results = await Promise.all(
    checks.map(async (c): Promise<[string, CheckReport]> => {
      const started = performance.now();
      let status: HealthStatus = "pass";
      let output: string | undefined;
      try {
        const r = await withTimeout(c.probe(), timeoutMs);
        if (r) {
          status = r.status;
          output = r.output;
        }
      } catch (err) {
        // Driver errors can name hosts and users; the public report stays generic.
        const why = err instanceof CheckTimeout ? err.message : "unreachable";
        if (c.shared === undefined) {
          status = "fail";
          output = why;
        } else {
          status = "warn";
          output = `${c.shared} ${why}; shared by every instance, this one keeps serving what does not need it`;
        }
        onFailure?.(c.name, err);
      }
      const report: CheckReport = {
        componentId: c.name,
        status,
        observedValue: Math.round((performance.now() - started) * 100) / 100,
        observedUnit: "ms",
        time: new Date(now()).toISOString(),
      };
      if (output !== undefined) report.output = output;
      return [`${c.name}:responseTime`, report];
    }),
  );
  let status: HealthStatus = "pass";
  const out: Record<string, CheckReport[]> = {};
  for (const [key, r] of results) {
    out[key] = [r];
    if (RANK[r.status] > RANK[status]) status = r.status;
  }
  return { status, checks: out };
}
