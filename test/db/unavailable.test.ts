/**
 * Which database errors are an outage (503 with Retry-After) and which stay
 * what they are: the driver's own signals only (socket codes, SQLSTATE, pg's
 * fixed messages), never text that could carry data.
 */
import { describe, expect, it } from "vitest";
import { DatabaseError } from "pg";
import { classifyDatabaseError, DatabaseUnavailableError, isConnectionFailure } from "../../src/db/unavailable.js";
import { errorCatalogue } from "../../src/errors/index.js";
import { mapError } from "../../src/server/plugins/errors.js";

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -111, syscall: "connect" });
}

/** An error as PostgreSQL reports it (pg-protocol's DatabaseError, with its SQLSTATE and severity). */
function serverError(code: string, message: string): Error {
  return Object.assign(new DatabaseError(message, message.length, "error"), { code, severity: "FATAL" });
}

describe("isConnectionFailure", () => {
  it.each([
    ["a refused connection", socketError("ECONNREFUSED")],
    ["a reset connection", socketError("ECONNRESET")],
    ["a timed-out connection", socketError("ETIMEDOUT")],
    ["an unresolvable host", socketError("ENOTFOUND")],
    ["every address refusing", new AggregateError([socketError("ECONNREFUSED"), socketError("ECONNREFUSED")], "")],
    ["the server shutting down (57P01)", serverError("57P01", "terminating connection due to administrator command")],
    ["a crash shutdown (57P02)", serverError("57P02", "terminating connection because of crash of another server process")],
    ["a server starting up (57P03)", serverError("57P03", "the database system is starting up")],
    ["too many connections (53300)", serverError("53300", "sorry, too many clients already")],
    ["a connection exception (08006)", serverError("08006", "connection failure")],
    ["a lost connection", new Error("Connection terminated unexpectedly")],
    ["a pool checkout timeout", new Error("timeout exceeded when trying to connect")],
    ["a connect timeout", new Error("Connection terminated due to connection timeout")],
    ["a client whose connection failed", new Error("Client has encountered a connection error and is not queryable")],
  ])("%s is one", (_what, err) => {
    expect(isConnectionFailure(err)).toBe(true);
    const classified = classifyDatabaseError(err);
    expect(classified).toBeInstanceOf(DatabaseUnavailableError);
    expect((classified as Error).cause).toBe(err);
  });

  it.each([
    ["a unique violation (23505)", serverError("23505", "duplicate key value violates unique constraint")],
    ["a serialization failure (40001)", serverError("40001", "could not serialize access")],
    ["a syntax error (42601)", serverError("42601", "syntax error at or near")],
    ["a wrong password (28P01)", serverError("28P01", "password authentication failed")],
    ["a message quoting data that mentions a lost connection", serverError("22001", "value too long: Connection terminated unexpectedly")],
    ["a plain error with the words inside", new Error("user said: Connection terminated unexpectedly")],
    ["a class-08 code on something that is not PostgreSQL's error", Object.assign(new Error("x"), { code: "08006" })],
    ["a programming error", new TypeError("cannot read properties of undefined")],
    ["a value that is not an error", "ECONNREFUSED"],
    ["some addresses refusing and one failing otherwise", new AggregateError([socketError("ECONNREFUSED"), new Error("certificate has expired")], "")],
  ])("%s is not", (_what, err) => {
    expect(isConnectionFailure(err)).toBe(false);
    expect(classifyDatabaseError(err)).toBe(err);
  });
});

describe("DatabaseUnavailableError", () => {
  it("answers 503 SERVICE_UNAVAILABLE with Retry-After and the catalogue's message; the log text names the cause", () => {
    const err = new DatabaseUnavailableError(socketError("ECONNREFUSED"));
    expect(mapError(err)).toEqual({ code: "SERVICE_UNAVAILABLE", message: errorCatalogue.SERVICE_UNAVAILABLE.message, headers: { "retry-after": "5" } });
    expect(err.message).toBe("database unavailable (ECONNREFUSED)");
    expect(new DatabaseUnavailableError(new Error("Connection terminated unexpectedly")).message).toBe("database unavailable (Connection terminated unexpectedly)");
    // Classified once: a second pass keeps the same error.
    expect(classifyDatabaseError(err)).toBe(err);
  });
});
