/**
 * A database that cannot be reached is an outage, not a bug: the PostgreSQL
 * pool that Kysely uses (database.ts) turns connection-level failures into
 * DatabaseUnavailableError, which every route answers `503
 * SERVICE_UNAVAILABLE` with `Retry-After`, and which the error handler logs at
 * warn with its cause. This is the one place that tells them apart from
 * query errors, by what the driver itself reports: socket error codes,
 * SQLSTATE classes, and the fixed messages pg and pg-pool raise for a lost or
 * refused connection. Never by the text of a query, a value or a server
 * message that could carry data.
 */
import { RampartError } from "../errors/index.js";

/**
 * Seconds a client is told to wait. A pool reconnects on its next checkout,
 * so an instance serves again as soon as the database is back; a few seconds
 * keeps retries from piling onto a database that is starting.
 */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Socket and resolver errors of the connection to the database server. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "EHOSTDOWN", "ENETUNREACH", "ENETDOWN", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * SQLSTATEs meaning "no usable connection right now": 57P01 admin_shutdown,
 * 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, recovering),
 * 53300 too_many_connections; and class 08, connection exception.
 */
const SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);

/**
 * What pg and pg-pool throw, in their own words, when a connection is lost,
 * refused or never established in time (they carry no code). Anchored: a
 * server message quoting data never starts this way.
 */
const DRIVER_MESSAGES = [
  /^Connection terminated( unexpectedly| due to connection timeout)?$/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^timeout expired$/,
];

/** Whether `err` (or one of the errors it aggregates) says the database server could not be reached or dropped the connection. */
export function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code) || SQLSTATES.has(code)) return true;
    // Only PostgreSQL's own errors carry a five-character SQLSTATE; class 08 is the connection class.
    if (/^08[0-9A-Z]{3}$/.test(code) && "severity" in err) return true;
  }
  // Node's connect tries each address of the host name in turn and reports them together.
  if (err instanceof AggregateError && err.errors.length > 0 && err.errors.every(isConnectionFailure)) return true;
  return (code === undefined || code === null) && DRIVER_MESSAGES.some((re) => re.test(err.message));
}

/** The database could not be reached; `cause` is the driver's error. */
export class DatabaseUnavailableError extends RampartError {
  constructor(cause: unknown) {
    super("SERVICE_UNAVAILABLE", { headers: { "retry-after": String(DATABASE_RETRY_AFTER_SECONDS) }, cause });
    // For logs and the CLI only: without its own message the client gets the catalogue's (RampartError.ownMessage).
    this.message = `database unavailable (${describe(cause)})`;
  }
}

function describe(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  return cause instanceof Error ? cause.message : "unknown cause";
}

/** `err` as DatabaseUnavailableError when it is a connection failure, else unchanged. */
export function classifyDatabaseError(err: unknown): unknown {
  return err instanceof DatabaseUnavailableError || !isConnectionFailure(err) ? err : new DatabaseUnavailableError(err);
}
