/** Public API of the runtime. */
export { createRuntime, prepareSchema, PendingMigrationsError, type Runtime, type RuntimeOptions } from "./runtime.js";
export { systemClock, ManualClock, type Clock } from "./clock.js";
