/**
 * The fingerprint of a request under an idempotency key: SHA-256 over the
 * method, the route pattern, the principal scope and a hash of the body.
 * A parsed (JSON) body is hashed in canonical form (keys sorted), so the same
 * payload serialized differently is the same request. A body the framework
 * did not parse (a multipart upload, read as a stream by its handler) cannot
 * be hashed before the request runs; its fingerprint covers the rest only.
 */
import { createHash } from "node:crypto";

/** JSON with object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value as object)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The request fingerprint (hex). `body` undefined: no parsed body. */
export function requestFingerprint(method: string, route: string, scope: string, body: unknown): string {
  const bodyHash = body === undefined ? "none" : createHash("sha256").update(Buffer.isBuffer(body) ? body : canonicalJson(body)).digest("hex");
  return createHash("sha256").update(JSON.stringify([method.toUpperCase(), route, scope, bodyHash])).digest("hex");
}

/** An `Idempotency-Key` value: 1 to 255 printable ASCII characters. */
export function isValidIdempotencyKey(value: unknown): value is string {
  return typeof value === "string" && /^[\x20-\x7e]{1,255}$/.test(value);
}
