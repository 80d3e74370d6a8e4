/**
 * PostgreSQL URLs as Rampart reads them (DATABASE_URL, the `database-url`
 * secret): the parts pg is given, the supported parameters, and refusals
 * that say what was expected without echoing the URL (it holds a password).
 */
import { describe, expect, it } from "vitest";
import { ConfigValueError } from "../../src/config/parsers.js";
import { isLoopbackHost, parsePostgresUrl } from "../../src/db/index.js";

describe("parsePostgresUrl", () => {
  it("gives pg the host, port, credentials, database and the supported parameters", () => {
    expect(parsePostgresUrl(" postgresql://app:p%40ss@db.internal:6432/rampart?application_name=rampart-api&options=-c%20statement_timeout%3D5000 ")).toEqual({
      host: "db.internal",
      port: 6432,
      user: "app",
      password: "p@ss",
      database: "rampart",
      applicationName: "rampart-api",
      options: "-c statement_timeout=5000",
    });
    expect(parsePostgresUrl("postgres://[::1]/x")).toEqual({ host: "::1", port: 5432, database: "x" });
    expect(parsePostgresUrl("postgres:///rampart?host=/run/postgresql")).toEqual({ host: "/run/postgresql", port: 5432, database: "rampart" });
  });

  it.each([
    ["not a URL", "postgres://app:secret-pw@db internal/rampart", /^a URL with scheme postgres/],
    ["another scheme", "mysql://app:secret-pw@db.internal/rampart", /^a URL with scheme postgres/],
    ["a broken percent-encoding", "postgres://app:%E0%A4%A@db.internal/rampart", /with valid percent-encoding$/],
    ["an unsupported parameter", "postgres://app:secret-pw@db.internal/rampart?schema=app", /'schema' is not supported$/],
  ])("refuses %s without echoing it", (_, url, message) => {
    let thrown: unknown;
    try {
      parsePostgresUrl(url);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigValueError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).not.toContain("secret-pw");
    expect((thrown as Error).message).not.toContain("%E0%A4%A");
  });
});

describe("isLoopbackHost", () => {
  it.each([
    ["/run/postgresql", true],
    ["localhost.", true],
    ["127.0.0.2", true],
    ["::1", true],
    ["::ffff:127.0.0.1", true],
    ["::ffff:7f00:1", true],
    ["::ffff:10.0.0.1", false],
    ["::ffff:a00:1", false],
    ["10.0.0.1", false],
    ["fe80::1", false],
    ["db.internal", false],
  ])("%s is loopback: %s", (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
