/**
 * A connection that could not be opened is an outage for the request (503
 * SERVICE_UNAVAILABLE with Retry-After) whose message, for logs and the
 * command line, says what an operator can act on: refused credentials (with
 * PostgreSQL's own words, never a password), a refused certificate and what
 * it was checked against, a server without TLS; anything else keeps the
 * generic text. Errors are built as pg raises them.
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { connectFailure, isAuthFailure, type ConnectContext } from "../../src/db/connect-failure.js";
import { DATABASE_RETRY_AFTER_SECONDS, DatabaseUnavailableError } from "../../src/db/index.js";

const context: ConnectContext = { source: "secret database-url", ssl: "verify-full" };

function serverError(code: string, message: string): pg.DatabaseError {
  const err = new pg.DatabaseError(message, 0, "error");
  err.code = code;
  err.severity = "FATAL";
  return err;
}

describe("connect failures", () => {
  it("names the URL's source and PostgreSQL's words for refused credentials, also when already wrapped", () => {
    const refused = serverError("28P01", 'password authentication failed for user "app"');
    expect(isAuthFailure(refused)).toBe(true);
    const failure = connectFailure(refused, context);
    expect(failure).toBeInstanceOf(DatabaseUnavailableError);
    expect(failure.message).toBe('database unavailable: PostgreSQL refused the credentials of secret database-url (28P01: password authentication failed for user "app")');
    expect(failure.cause).toBe(refused);
    expect(failure.headers).toEqual({ "retry-after": String(DATABASE_RETRY_AFTER_SECONDS) });
    // A pool error already classified as unavailable gets the same explanation and stays the same error.
    const classified = new DatabaseUnavailableError(serverError("28000", 'role "ghost" does not exist'));
    const again = connectFailure(classified, context);
    expect(again).toBe(classified);
    expect(again.message).toBe('database unavailable: PostgreSQL refused the credentials of secret database-url (28000: role "ghost" does not exist)');
  });

  it("says what a refused certificate was checked against: the CA bundle, or Node's CAs", () => {
    const cert = Object.assign(new Error("self-signed certificate in certificate chain"), { code: "SELF_SIGNED_CERT_IN_CHAIN" });
    expect(connectFailure(cert, { ...context, caFile: "/etc/rampart/ca.pem" }).message).toBe(
      "database unavailable: DATABASE_SSL=verify-full refused the server's certificate (SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain); it is checked against the CA bundle DATABASE_SSL_CA (/etc/rampart/ca.pem) and the host of secret database-url",
    );
    expect(connectFailure(cert, context).message).toMatch(/checked against Node's default CAs \(set DATABASE_SSL_CA to the CA of a private one\)/);
  });

  it("tells a server without TLS apart", () => {
    const failure = connectFailure(new Error("The server does not support SSL connections"), { ...context, ssl: "require" });
    expect(failure.message).toBe("database unavailable: DATABASE_SSL=require, but the server does not accept TLS connections (ssl = off in postgresql.conf)");
  });

  it("keeps the generic text for anything else, a thrown non-Error included", () => {
    const refusedTcp = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    expect(connectFailure(refusedTcp, context).message).toBe("database unavailable (ECONNREFUSED)");
    expect(isAuthFailure(refusedTcp)).toBe(false);
    const odd = connectFailure("socket hang up", context);
    expect(odd.message).toBe("database unavailable (unknown cause)");
    expect(odd.code).toBe("SERVICE_UNAVAILABLE");
    // An error that merely carries an auth SQLSTATE is not PostgreSQL's (no severity).
    expect(isAuthFailure(Object.assign(new Error("x"), { code: "28P01" }))).toBe(false);
  });
});
