/**
 * The PostgreSQL connection URL (DATABASE_URL, or the secret `database-url`)
 * as the target pg connects to. Parsed here rather than handed to pg as a
 * connection string, so that what the production preflight checks is what
 * the pool connects to: pg would let a `?sslmode=` in the URL override
 * DATABASE_SSL (a silent downgrade of `verify-full`), and fill a missing host
 * from PGHOST. TLS is set by DATABASE_SSL and DATABASE_SSL_CA only; a URL
 * without a host means `localhost`.
 */
import { isIPv4, isIPv6 } from "node:net";
import { ConfigValueError } from "../config/parsers.js";

export interface PostgresTarget {
  /** A host name, an IP address (IPv6 without brackets), or the directory of a unix socket. */
  readonly host: string;
  readonly port: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  readonly applicationName?: string;
  /** PostgreSQL command-line options (`-c search_path=app`), as libpq's `options`. */
  readonly options?: string;
}

/** Query parameters a URL may carry (libpq's names). */
const PARAMETERS = ["host", "application_name", "options"] as const;
const EXPECTED = "a URL with scheme postgres or postgresql";

/**
 * The target of a PostgreSQL URL; throws ConfigValueError (saying what was
 * expected, never echoing the URL, which holds the password) when it is not
 * one or carries a parameter that is not supported.
 */
export function parsePostgresUrl(raw: string): PostgresTarget {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new ConfigValueError(EXPECTED);
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") throw new ConfigValueError(EXPECTED);
  let socketOrHost: string | undefined;
  let applicationName: string | undefined;
  let options: string | undefined;
  for (const [name, value] of u.searchParams) {
    if (/^ssl/i.test(name)) {
      throw new ConfigValueError(`${EXPECTED} without TLS parameters: TLS to PostgreSQL is set by DATABASE_SSL and DATABASE_SSL_CA, so remove '${name}' from the URL`);
    }
    if (name === "host") socketOrHost = value;
    else if (name === "application_name") applicationName = value;
    else if (name === "options") options = value;
    else throw new ConfigValueError(`${EXPECTED} whose parameters are among ${PARAMETERS.join(", ")}; '${name}' is not supported`);
  }
  const port = u.port === "" ? 5432 : Number(u.port);
  const host = socketOrHost || urlHost(u.hostname) || "localhost";
  const user = decode(u.username);
  const password = decode(u.password);
  const database = decode(u.pathname.replace(/^\//, ""));
  return {
    host,
    port,
    ...(user ? { user } : {}),
    ...(password ? { password } : {}),
    ...(database ? { database } : {}),
    ...(applicationName ? { applicationName } : {}),
    ...(options ? { options } : {}),
  };
}

/** The config `parse` of DATABASE_URL: the URL as given, once parsePostgresUrl accepts it. */
export function postgresUrl(raw: string): string {
  parsePostgresUrl(raw);
  return raw.trim();
}

/** A host of the URL's authority: brackets of an IPv6 literal removed, a percent-encoded socket path (`%2Frun%2Fpostgresql`) decoded. */
function urlHost(hostname: string): string {
  if (hostname.startsWith("[") && hostname.endsWith("]")) return hostname.slice(1, -1);
  return /^%2f/i.test(hostname) ? decode(hostname) : hostname;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigValueError(`${EXPECTED} with valid percent-encoding`);
  }
}

/**
 * Whether connections to `host` stay on this machine: a unix socket, the name
 * `localhost`, 127.0.0.0/8 or ::1 (also as an IPv4-mapped IPv6 address). Any
 * other name counts as remote, whatever it resolves to today.
 */
export function isLoopbackHost(host: string): boolean {
  if (host.startsWith("/")) return true;
  const h = host.toLowerCase().replace(/\.$/, "");
  if (h === "localhost") return true;
  if (isIPv4(h)) return h.startsWith("127.");
  if (isIPv6(h)) {
    if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
    // IPv4-mapped, dotted (::ffff:127.0.0.1) or as URLs normalize it (::ffff:7f00:1).
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null ? mapped[1]!.startsWith("127.") : /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(h);
  }
  return false;
}
