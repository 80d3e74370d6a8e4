/**
 * Why a new PostgreSQL connection could not be opened, in words an operator
 * can act on. Any failure to open a connection is an outage for the request
 * that needed it (503 with Retry-After, never 500); the message, for logs and
 * the command line only, tells a refused password or role (SQLSTATE class
 * 28), a server certificate that DATABASE_SSL=verify-full refuses, and a
 * server without TLS apart from an unreachable one.
 */
import { DatabaseUnavailableError } from "./unavailable.js";

/** 28P01 invalid_password, 28000 invalid_authorization_specification (unknown role, no pg_hba.conf entry). */
export function isAuthFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && "severity" in err && (code === "28P01" || code === "28000");
}

/**
 * Node's codes for a certificate chain or host name that TLS verification
 * refuses (node:tls, OpenSSL's X509_V_ERR_* names).
 */
const CERTIFICATE_CODES = new Set([
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
  "HOSTNAME_MISMATCH",
]);

/** What the pool knows about the connection it tried, for the message. */
export interface ConnectContext {
  /** Where the URL came from: `DATABASE_URL` or `secret database-url`. */
  readonly source: string;
  readonly ssl: "disable" | "require" | "verify-full";
  /** DATABASE_SSL_CA, when set. */
  readonly caFile?: string | undefined;
}

/** The failure to open a connection as a DatabaseUnavailableError whose message says why. */
export function connectFailure(err: unknown, context: ConnectContext): DatabaseUnavailableError {
  const failure = err instanceof DatabaseUnavailableError ? err : new DatabaseUnavailableError(err);
  const cause = err instanceof DatabaseUnavailableError ? err.cause : err;
  const reason = explain(cause, context);
  // For logs and the CLI only: the client gets the catalogue's message (RampartError.ownMessage is false).
  if (reason !== undefined) failure.message = `database unavailable: ${reason}`;
  return failure;
}

function explain(err: unknown, context: ConnectContext): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (isAuthFailure(err)) {
    // PostgreSQL's own text names the role or the missing pg_hba.conf entry, never a password.
    return `PostgreSQL refused the credentials of ${context.source} (${String(code)}: ${err.message})`;
  }
  if (typeof code === "string" && CERTIFICATE_CODES.has(code)) {
    const trust = context.caFile !== undefined ? `the CA bundle DATABASE_SSL_CA (${context.caFile})` : "Node's default CAs (set DATABASE_SSL_CA to the CA of a private one)";
    return `DATABASE_SSL=${context.ssl} refused the server's certificate (${code}: ${err.message}); it is checked against ${trust} and the host of ${context.source}`;
  }
  if (code === undefined && err.message === "The server does not support SSL connections") {
    return `DATABASE_SSL=${context.ssl}, but the server does not accept TLS connections (ssl = off in postgresql.conf)`;
  }
  return undefined;
}
