/** Public API of the request context. */
export { currentContext, runWithContext, resolveTraceId, newTraceId, outboundTraceparent, traceHeaders, traceparentSampled, type RequestContext } from "./request-context.js";
