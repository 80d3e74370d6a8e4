/**
 * Quota plans: `RAMPART_PLANS` is JSON, plan name → meter → limits per period,
 * e.g. `{"free": {"api.requests": {"day": 10000}, "files.bytes": {"month": 104857600}}}`.
 * A meter a plan does not name is unlimited (still counted, so usage reports
 * show it). The parser is strict: unknown meters or periods, non-integer or
 * negative limits and extra keys stop the boot with a message naming the path.
 */
import { ConfigValueError } from "../config/parsers.js";

/** What is counted: authenticated requests, and bytes of uploaded files. */
export const METERS = ["api.requests", "files.bytes"] as const;
export type Meter = (typeof METERS)[number];

/** Windows a limit applies to; both are UTC calendar periods. */
export const PERIODS = ["day", "month"] as const;
export type Period = (typeof PERIODS)[number];

/** Limits of one meter; an absent period is not limited. */
export type MeterLimits = Readonly<Partial<Record<Period, number>>>;

/** One plan: limits per meter; an absent meter is unlimited. */
export type Plan = Readonly<Partial<Record<Meter, MeterLimits>>>;

/** Every plan by name. */
export type Plans = Readonly<Record<string, Plan>>;

export const DEFAULT_PLANS_JSON = '{"free":{"api.requests":{"day":10000},"files.bytes":{"month":104857600}}}';

const PLAN_NAME = /^[a-z0-9][a-z0-9_-]{0,49}$/;
const EXPECTED = 'JSON {"<plan>": {"api.requests"|"files.bytes": {"day"?: <integer >= 0>, "month"?: <integer >= 0>}}}';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(where: string): never {
  throw new ConfigValueError(`${EXPECTED} (problem at ${where})`);
}

/** Parses and validates RAMPART_PLANS; throws ConfigValueError naming the offending path. */
export function parsePlans(raw: string): Plans {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigValueError(`${EXPECTED} (not valid JSON)`);
  }
  if (!isObject(json) || Object.keys(json).length === 0) fail("the top level: at least one plan");
  const plans: Record<string, Plan> = {};
  for (const [name, plan] of Object.entries(json)) {
    if (!PLAN_NAME.test(name)) fail(`plan name '${name}': lower-case letters, digits, '-' and '_', at most 50`);
    if (!isObject(plan)) fail(name);
    const out: Partial<Record<Meter, MeterLimits>> = {};
    for (const [meter, limits] of Object.entries(plan)) {
      if (!(METERS as readonly string[]).includes(meter)) fail(`${name}.${meter}: unknown meter`);
      if (!isObject(limits)) fail(`${name}.${meter}`);
      const l: Partial<Record<Period, number>> = {};
      for (const [period, value] of Object.entries(limits)) {
        if (!(PERIODS as readonly string[]).includes(period)) fail(`${name}.${meter}.${period}: unknown period`);
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail(`${name}.${meter}.${period}`);
        l[period as Period] = value;
      }
      out[meter as Meter] = l;
    }
    plans[name] = out;
  }
  // `rampart config` prints values with String(): show the JSON, not [object Object].
  Object.defineProperty(plans, "toString", { value: () => JSON.stringify(plans), enumerable: false });
  return plans;
}

/** Validates RAMPART_DEFAULT_PLAN's syntax (that it names a plan is checked when quotas start). */
export function parsePlanName(raw: string): string {
  const v = raw.trim();
  if (!PLAN_NAME.test(v)) throw new ConfigValueError("a plan name (lower-case letters, digits, '-' and '_')");
  return v;
}

/** The limit of `meter` in `period` under `plan`; undefined = unlimited. */
export function limitOf(plan: Plan, meter: Meter, period: Period): number | undefined {
  return plan[meter]?.[period];
}

export function isMeter(s: string): s is Meter {
  return (METERS as readonly string[]).includes(s);
}
