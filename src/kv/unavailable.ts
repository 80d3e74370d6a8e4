/**
 * A kv store that cannot be reached is an outage, not a bug: RedisKv turns
 * the failures that mean "no usable connection right now" into
 * KvUnavailableError, which a route answers `503 SERVICE_UNAVAILABLE` with
 * `Retry-After` (a login while the lockout counters are out of reach, a
 * refresh, an MFA step), never `500`. Told apart by what ioredis and Redis
 * themselves report — the client's fixed messages for a connection that is
 * down, closed or too slow, socket error codes, and the reply prefixes of a
 * server that is loading, read-only, failing over or refusing this client —
 * never by a key or a value. Callers that fail open on a kv outage (quotas,
 * the rate-limit failover, the revocation list within its bound) catch it.
 */
import { RampartError } from "../errors/index.js";

/** Seconds a client is told to wait: the client reconnects within 2 s of Redis answering again. */
export const KV_RETRY_AFTER_SECONDS = 5;

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "EHOSTDOWN", "ENETUNREACH", "ENETDOWN", "ENOTFOUND", "EAI_AGAIN"]);

/** ioredis's own messages for a command that could not be sent or answered (no offline queue, see redis.ts). */
const CLIENT_MESSAGES = [
  /^Stream isn't writeable and enableOfflineQueue options is false$/,
  /^Connection is closed\.$/,
  /^Command timed out$/,
  /^Socket timeout\. /,
  /^connect ETIMEDOUT$/,
  /^Reached the max retries per request limit/,
];

/** Reply prefixes of a server that cannot serve this client now (RESP error prefixes). */
const REPLY_PREFIXES = /^(LOADING|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|BUSY|NOAUTH|WRONGPASS|NOPERM) /;

/** Whether `err` says the kv store could not be reached or cannot serve now. */
export function isKvOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
  if (err.name === "MaxRetriesPerRequestError") return true;
  return CLIENT_MESSAGES.some((re) => re.test(err.message)) || (err.name === "ReplyError" && REPLY_PREFIXES.test(err.message));
}

/** The kv store could not be reached; `cause` is the client's error. */
export class KvUnavailableError extends RampartError {
  constructor(cause: unknown) {
    super("SERVICE_UNAVAILABLE", { headers: { "retry-after": String(KV_RETRY_AFTER_SECONDS) }, cause });
    // For logs only: without its own message the client gets the catalogue's (RampartError.ownMessage).
    this.message = `kv store unavailable (${cause instanceof Error ? cause.message : "unknown cause"})`;
  }
}

/** Rethrows `err` as KvUnavailableError when it is an outage, else unchanged. */
export function rethrowKvError(err: unknown): never {
  throw err instanceof KvUnavailableError || !isKvOutage(err) ? err : new KvUnavailableError(err);
}
