/** Public API of the server composition. */
export { buildApp, type BuildAppOptions, type RampartApp } from "./app.js";
export { serve, type RunningServer, type ServeOptions } from "./serve.js";
export { ok, Envelope, ErrorEnvelopeSchema } from "./envelope.js";
export { sendError, mapError } from "./plugins/errors.js";
export { RouteSchemaError } from "./route-schemas.js";
