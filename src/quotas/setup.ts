/**
 * Builds the quota service of a runtime from its config: the meters (the
 * built-ins and the app's), plans and the default plan (checked here, at
 * start-up: the default must be a configured plan, and every meter a plan
 * limits must exist), the kv counters, the persisted usage and its flush timer.
 */
import { ConfigError } from "../config/index.js";
import type { Runtime } from "../runtime/index.js";
import { Counters } from "./counters.js";
import { checkPlanMeters, resolveMeters, type AppQuotaOptions } from "./meters.js";
import { PlanStore } from "./plan-store.js";
import { Quotas } from "./quotas.js";
import { UsageStore } from "./usage-store.js";

/** Creates the runtime's quota service; close it with `quotas.close()` (the quota plugin does). */
export async function createQuotas(runtime: Runtime, options: AppQuotaOptions = {}): Promise<Quotas> {
  const { config, db, kv, log, clock, events } = runtime;
  const meters = resolveMeters(options.meters);
  checkPlanMeters(config.plans, meters);
  if (!Object.hasOwn(config.plans, config.defaultPlan)) {
    throw new ConfigError("RAMPART_DEFAULT_PLAN", `a plan of RAMPART_PLANS (${Object.keys(config.plans).join(", ")})`, `'${config.defaultPlan}'`);
  }
  const now = () => clock.now();
  const usage = new UsageStore(db.kysely, log, now);
  const plans = await PlanStore.create({ db: db.kysely, kv, log, now, plans: config.plans, defaultPlan: config.defaultPlan });
  const quotas = new Quotas({ kv, log, clock, events, plans, usage, counters: new Counters(kv, usage), meters });
  quotas.startFlushing(config.quotaPersistIntervalMs);
  return quotas;
}
