/**
 * The meter set of one quota service: the built-in meters plus the host
 * app's own (`quotas: { meters: ["llm.tokens"] }`), fixed at start-up. Plans
 * are checked against it there, so a plan naming a meter nobody registered
 * stops the start instead of limiting nothing; a consumption of an unknown
 * meter is a programming error, raised naming the meter.
 */
import { ConfigError } from "../config/load.js";
import { isMeterName, METER_NAME_MAX, METERS, type Plans } from "./plans.js";

/** The host app's quota settings (the `quotas` option of the rampart plugin). */
export interface AppQuotaOptions {
  /** The app's own meters, consumed by app code with `quotas.consume(principal, meter, n)`. */
  meters?: readonly string[];
}

/**
 * The built-in meters followed by the app's, validated: a malformed name, a
 * name given twice or one that is a built-in meter is refused, naming it.
 */
export function resolveMeters(appMeters: readonly string[] = []): readonly string[] {
  const all: string[] = [...METERS];
  for (const m of appMeters) {
    if (typeof m !== "string" || !isMeterName(m)) {
      throw new RangeError(`quota meter name must be dotted lower-case words (e.g. 'llm.tokens'), at most ${METER_NAME_MAX} characters, instead got '${String(m)}'`);
    }
    if ((METERS as readonly string[]).includes(m)) throw new RangeError(`quota meter '${m}' clashes with a built-in meter (${METERS.join(", ")})`);
    if (all.includes(m)) throw new RangeError(`quota meter '${m}' is registered twice`);
    all.push(m);
  }
  return Object.freeze(all);
}

/** Throws ConfigError (RAMPART_PLANS) naming the first meter a plan limits that is not in `meters`. */
export function checkPlanMeters(plans: Plans, meters: readonly string[]): void {
  for (const [plan, limits] of Object.entries(plans)) {
    for (const meter of Object.keys(limits)) {
      if (!meters.includes(meter)) {
        throw new ConfigError("RAMPART_PLANS", `meters that exist (${meters.join(", ")}; an app adds its own with quotas.meters)`, `unknown meter '${meter}' in plan '${plan}'`);
      }
    }
  }
}

/** Throws naming the meter when it is not one of `meters` (a bug in the calling code, not a client error). */
export function assertKnownMeter(meters: readonly string[], meter: string): void {
  if (!meters.includes(meter)) throw new RangeError(`unknown quota meter '${meter}'; known: ${meters.join(", ")} (register app meters with quotas.meters)`);
}
