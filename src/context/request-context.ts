/**
 * Per-request context (trace id, user id) carried through AsyncLocalStorage, so
 * any code — logging, audit, outbound calls — can read it without threading a
 * parameter through every call.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomFillSync } from "node:crypto";

export interface RequestContext {
  readonly traceId: string;
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
