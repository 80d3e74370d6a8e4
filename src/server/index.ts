/** Public API of the server composition. */
export { buildApp, type BuildAppOptions, type RampartApp } from "./app.js";
export { serve, type RunningServer, type ServeOptions } from "./serve.js";
export { ok, Envelope, ErrorEnvelopeSchema } from "./envelope.js";
export { sendError, mapError, wantsProblem, type ErrorsPluginOptions } from "./plugins/errors.js";
export { wellFormedTextPlugin } from "./plugins/well-formed-text.js";
export { rawErrorHandlers, type HeaderBlock, type RawErrorHandlers } from "./raw-errors.js";
export { RouteSchemaError } from "./route-schemas.js";
