/**
 * Quota plans: `RAMPART_PLANS` is JSON, plan name → meter → limits per period,
 * e.g. `{"free": {"api.requests": {"day": 10000}, "llm.tokens": {"month": 1000000}}}`.
 * A meter a plan does not name is unlimited (still counted, so usage reports
 * show it). The parser is strict about the shape: malformed meter names,
 * unknown periods, non-integer or negative limits and extra keys stop the boot
 * with a message naming the path. Whether each meter exists is checked when
 * quotas start (checkPlanMeters), where the app's own meters are known.
 */
import { ConfigValueError } from "../config/parsers.js";

/** The built-in meters: authenticated requests, and bytes of uploaded files. */
export const METERS = ["api.requests", "files.bytes"] as const;
export type BuiltInMeter = (typeof METERS)[number];

/**
 * The host app's meters, for typing: augment it with the names the app
 * registers (`quotas: { meters: ["llm.tokens"] }`), e.g.
 * `declare module "rampart" { interface AppMeters { "llm.tokens": true } }`.
 * Runtime validation does not depend on it.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by module augmentation
export interface AppMeters {}

/** A meter name: built-in or the app's own. */
export type Meter = BuiltInMeter | Extract<keyof AppMeters, string>;

/** Windows a limit applies to; both are UTC calendar periods. */
export const PERIODS = ["day", "month"] as const;
export type Period = (typeof PERIODS)[number];

/** Limits of one meter; an absent period is not limited. */
export type MeterLimits = Readonly<Partial<Record<Period, number>>>;

/** One plan: limits per meter name; an absent meter is unlimited. */
export type Plan = Readonly<Partial<Record<string, MeterLimits>>>;

/** Every plan by name. */
export type Plans = Readonly<Record<string, Plan>>;

export const DEFAULT_PLANS_JSON = '{"free":{"api.requests":{"day":10000},"files.bytes":{"month":104857600}}}';

const PLAN_NAME = /^[a-z0-9][a-z0-9_-]{0,49}$/;
const EXPECTED = 'JSON {"<plan>": {"<meter>": {"day"?: <integer >= 0>, "month"?: <integer >= 0>}}}';

/** Meter names: dotted lower-case words (`api.requests`, `llm.tokens`), safe in kv keys and header values. */
export const METER_NAME = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;
export const METER_NAME_MAX = 64;

/** Whether `s` is a well-formed meter name (not whether such a meter exists). */
export function isMeterName(s: string): boolean {
  return s.length <= METER_NAME_MAX && METER_NAME.test(s);
}

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
    const out: Record<string, MeterLimits> = {};
    for (const [meter, limits] of Object.entries(plan)) {
      if (!isMeterName(meter)) fail(`${name}.${meter}: a meter name is dotted lower-case words, at most ${METER_NAME_MAX} characters`);
      if (!isObject(limits)) fail(`${name}.${meter}`);
      const l: Partial<Record<Period, number>> = {};
      for (const [period, value] of Object.entries(limits)) {
        if (!(PERIODS as readonly string[]).includes(period)) fail(`${name}.${meter}.${period}: unknown period`);
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail(`${name}.${meter}.${period}`);
        l[period as Period] = value;
      }
      out[meter] = l;
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
export function limitOf(plan: Plan, meter: string, period: Period): number | undefined {
  return Object.hasOwn(plan, meter) ? plan[meter]?.[period] : undefined;
}

/** Whether `s` is a built-in meter. */
export function isMeter(s: string): s is BuiltInMeter {
  return (METERS as readonly string[]).includes(s);
}
