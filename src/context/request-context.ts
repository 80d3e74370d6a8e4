/**
 * Per-request context (trace id, user id) carried through AsyncLocalStorage, so
 * any code — logging, audit, outbound calls — can read it without threading a
 * parameter through every call.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomFillSync } from "node:crypto";

export interface RequestContext {
  readonly traceId: string;
  /** The caller's W3C `traceparent` had its sampled flag set (passed on to outbound calls). */
  readonly sampled?: boolean;
  userId?: string;
  ip?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Adopts a trace id from a well-formed W3C `traceparent` (its trace-id; version
 * ff and all-zero ids are invalid per W3C Trace Context §3.2.2) or an
 * `x-request-id`; otherwise generates a new 32-hex id.
 */
export function resolveTraceId(traceparent: unknown, requestId: unknown): string {
  if (typeof traceparent === "string") {
    const m = TRACEPARENT.exec(traceparent.trim());
    if (m && m[1] !== "ff" && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!)) return m[2]!;
  }
  if (typeof requestId === "string" && REQUEST_ID.test(requestId)) return requestId;
  return newTraceId();
}

// One CSPRNG call per 256 ids: `randomBytes(16)` per request cost ~7 % of a
// protected request (a native call and a buffer allocation each time).
const ID_BYTES = 16;
const pool = Buffer.allocUnsafe(ID_BYTES * 256);
let poolOffset = pool.length;

/** A new 32-hex trace id from the CSPRNG. */
export function newTraceId(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const id = pool.toString("hex", poolOffset, poolOffset + ID_BYTES);
  poolOffset += ID_BYTES;
  return id;
}

const W3C_TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;

/**
 * Whether a request's `traceparent` asks for sampling (trace-flags bit 0),
 * for the trace id it was adopted from; false for any other trace id.
 */
export function traceparentSampled(traceparent: unknown, traceId: string): boolean {
  if (typeof traceparent !== "string") return false;
  const m = TRACEPARENT.exec(traceparent.trim());
  return m !== null && m[2] === traceId && (parseInt(m[4]!, 16) & 1) === 1;
}

/**
 * The W3C `traceparent` for an outbound call made while serving a request
 * (Trace Context §3.2): the request's trace id, a new parent id for this
 * call, and the caller's sampled flag. Undefined outside a request, or when
 * the trace id was adopted from an `x-request-id` that is not a W3C trace id.
 */
export function outboundTraceparent(): string | undefined {
  const ctx = storage.getStore();
  if (!ctx || !W3C_TRACE_ID.test(ctx.traceId)) return undefined;
  return `00-${ctx.traceId}-${newTraceId().slice(0, 16)}-${ctx.sampled ? "01" : "00"}`;
}

/** Headers that carry the request's trace to an outbound HTTP call: `{ traceparent }`, or none. */
export function traceHeaders(): Record<string, string> {
  const traceparent = outboundTraceparent();
  return traceparent === undefined ? {} : { traceparent };
}
