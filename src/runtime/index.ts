/** Public API of the runtime. */
export { createRuntime, prepareSchema, runtimeLogger, type Runtime, type RuntimeOptions } from "./runtime.js";
export { PendingMigrationsError } from "./pending-migrations.js";
export { systemClock, ManualClock, type Clock } from "./clock.js";
export { sharedDatabaseProblems, SharedDatabaseConfigError } from "./shared-database.js";
