/**
 * The readiness checks of the runtime's storage, `database` and `kv`, with
 * the split of checks.ts: PostgreSQL and Redis are shared by every instance,
 * so their being unreachable is `warn` (the routes that need them answer 503
 * with Retry-After, the rest keep serving, and the revocation list reports
 * `fail` on its own once REVOCATION_STALE_MAX_MS has run out). What only this
 * instance suffers stays `fail`: the embedded database (it lives in this
 * process, and the memory kv store with it), and a PostgreSQL server that
 * answers but refuses this instance (its credentials, its TLS settings, a
 * database that does not exist for it).
 */
import type { Database } from "../db/database.js";
import { DatabaseUnavailableError, isConnectionFailure } from "../db/unavailable.js";
import type { KvStore } from "../kv/types.js";
import type { CheckResult, HealthCheck } from "./checks.js";

/** An error code that is safe to show (a SQLSTATE or a Node/OpenSSL code), else none. */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,48}$/.test(code) ? ` (${code})` : "";
}

/** Readiness check `database`; see the module comment. */
export function databaseCheck(db: Pick<Database, "kind" | "ping">): HealthCheck {
  if (db.kind !== "postgres") return { name: "database", probe: () => db.ping() };
  return {
    name: "database",
    shared: "postgresql",
    probe: async (): Promise<CheckResult | void> => {
      try {
        await db.ping();
      } catch (err) {
        // Unreachable (refused, reset, timed out, shutting down): the shared outage, reported as warn.
        // A server that answers and refuses this instance (SQLSTATE class 28, a certificate, TLS) is its own fault.
        const cause = err instanceof DatabaseUnavailableError ? err.cause : err;
        if (isConnectionFailure(cause)) throw err;
        return { status: "fail", output: `postgresql refused this instance${codeOf(cause)}` };
      }
    },
  };
}

/** Readiness check `kv`; see the module comment. */
export function kvCheck(kv: Pick<KvStore, "kind" | "ping">): HealthCheck {
  return { name: "kv", probe: () => kv.ping(), ...(kv.kind === "redis" ? { shared: "redis" } : {}) };
}
