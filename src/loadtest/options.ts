/**
 * Parsing of the load test's option values. Each error names the option and
 * what it received (the CLI turns them into usage errors, exit 2).
 */
import { DEFAULT_P95_MS, ENDPOINTS, type EndpointName } from "./budgets.js";
import { SCENARIOS, type ScenarioName } from "./scenarios.js";

export class LoadTestOptionError extends Error {
  override readonly name = "LoadTestOptionError";
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `60s`, `30m`, `1h`; a bare number is seconds. */
export function parseDuration(option: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2] ?? "s"]! : NaN;
  if (!Number.isFinite(ms) || ms <= 0) throw new LoadTestOptionError(`${option} takes a duration like 500ms, 60s, 30m or 1h, instead got '${raw}'`);
  return Math.round(ms);
}

/** A positive number (within `max`). */
export function parsePositive(option: string, raw: string, { integer = false, max = Infinity } = {}): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)) || n > max) {
    throw new LoadTestOptionError(`${option} takes a positive ${integer ? "integer" : "number"}${max < Infinity ? ` up to ${max}` : ""}, instead got '${raw}'`);
  }
  return n;
}

/** A percentage from 0 to 100. */
export function parsePercent(option: string, raw: string): number {
  const n = Number(raw.replace(/%$/, ""));
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n > 100) throw new LoadTestOptionError(`${option} takes a percentage from 0 to 100, instead got '${raw}'`);
  return n;
}

export function parseScenario(raw: string): ScenarioName {
  if (!(SCENARIOS as readonly string[]).includes(raw)) throw new LoadTestOptionError(`--scenario takes one of ${SCENARIOS.join(", ")}, instead got '${raw}'`);
  return raw as ScenarioName;
}

/** The target's base URL: http or https, no credentials, query or fragment. */
export function parseTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LoadTestOptionError(`--url takes an absolute http(s) URL like http://127.0.0.1:8080, instead got '${raw}'`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new LoadTestOptionError(`--url must be http or https, instead got '${url.protocol}'`);
  // Credentials in the URL would end up in the report and the JSON result.
  if (url.username || url.password) throw new LoadTestOptionError("--url must not carry credentials");
  if (url.search || url.hash) throw new LoadTestOptionError(`--url is the server's base URL, without a query or fragment, instead got '${raw}'`);
  return url;
}

/**
 * `--budget NAME=P95` values, over the defaults: NAME an endpoint, P95 in ms
 * (`500`, `500ms` or `0.5s`), or `none` to drop an endpoint's P95 budget.
 */
export function parseBudgets(raws: string[]): Partial<Record<EndpointName, number>> {
  const budgets: Partial<Record<EndpointName, number>> = { ...DEFAULT_P95_MS };
  for (const raw of raws) {
    const m = /^([a-z-]+)=(.+)$/.exec(raw.trim());
    if (!m) throw new LoadTestOptionError(`--budget takes ENDPOINT=MS (e.g. login=500), instead got '${raw}'`);
    const name = m[1]!;
    if (!(ENDPOINTS as readonly string[]).includes(name)) throw new LoadTestOptionError(`--budget names an endpoint of ${ENDPOINTS.join(", ")}, instead got '${name}'`);
    const value = m[2]!;
    if (value === "none") {
      delete budgets[name as EndpointName];
      continue;
    }
    const ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) : /^\d+(\.\d+)?(ms|s)$/.test(value) ? parseDuration("--budget", value) : NaN;
    if (!Number.isFinite(ms) || ms <= 0) throw new LoadTestOptionError(`--budget takes a P95 in milliseconds (login=500, login=0.5s) or none, instead got '${raw}'`);
    budgets[name as EndpointName] = ms;
  }
  return budgets;
}
