/**
 * Rampart's root entry point: the pieces a host application composes. Each
 * capability is also importable on its own (`rampart/config`, `rampart/kv`, ...).
 */
export { loadConfig, ConfigError, type Config } from "./config/index.js";
export { createRuntime, prepareSchema, ManualClock, systemClock, type Runtime, type RuntimeOptions, type Clock } from "./runtime/index.js";
export { RampartError, errorCatalogue, type ErrorCode } from "./errors/index.js";
export { currentContext, type RequestContext } from "./context/index.js";
export { buildApp, type BuildAppOptions } from "./server/app.js";
export { serve, type RunningServer, type ServeOptions } from "./server/serve.js";
export { ok, Envelope } from "./server/envelope.js";
export type { KvStore } from "./kv/index.js";
export type { Database } from "./db/index.js";
export { VERSION } from "./version.js";
