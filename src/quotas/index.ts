/**
 * Public API of quotas (`rampart/quotas`): plans from RAMPART_PLANS, meters
 * counted per UTC day and month in the kv store, usage persisted for reports,
 * the Fastify plugin (counting `api.requests`) and the usage routes.
 */
export { Quotas, type Consumption, type QuotasDeps, type QuotaHolder } from "./quotas.js";
export { resolveMeters, checkPlanMeters, assertKnownMeter, type AppQuotaOptions } from "./meters.js";
export { createQuotas } from "./setup.js";
export { parsePlans, parsePlanName, limitOf, isMeter, isMeterName, METERS, PERIODS, DEFAULT_PLANS_JSON, type Meter, type BuiltInMeter, type AppMeters, type Period, type Plan, type Plans, type MeterLimits } from "./plans.js";
export { windowOf, windowTag, secondsUntilReset, type PeriodWindow } from "./periods.js";
export { formatWarning, appendWarning, WARNING_HEADER, type MeterState } from "./headers.js";
export { PlanStore, type UserPlan, type PlanStoreOptions } from "./plan-store.js";
export { UsageStore, type UsageRow } from "./usage-store.js";
export { Counters } from "./counters.js";
export { quotaPlugin, type QuotaPluginOptions } from "./plugin.js";
export { quotaRoutes } from "./routes.js";
