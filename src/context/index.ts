/** Public API of the request context. */
export { currentContext, runWithContext, resolveTraceId, newTraceId, type RequestContext } from "./request-context.js";
