/** Public API of the runtime. */
export { createRuntime, prepareSchema, runtimeLogger, PendingMigrationsError, type Runtime, type RuntimeOptions } from "./runtime.js";
export { systemClock, ManualClock, type Clock } from "./clock.js";
export { sharedDatabaseProblems, SharedDatabaseConfigError } from "./shared-database.js";
