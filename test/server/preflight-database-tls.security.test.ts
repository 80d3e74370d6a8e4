/**
 * Threat: the connection to a PostgreSQL server on another host travels in
 * clear text (the password and every row readable on the network), or is
 * encrypted without verifying the server (`require`), so that whoever sits
 * on the path can pose as the database. Production must demand
 * DATABASE_SSL=verify-full for any database that is not on loopback, with a
 * CA bundle that can be read, wherever the URL comes from (DATABASE_URL or
 * the secret `database-url`).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { createLogger, SecretRedactor } from "../../src/log/index.js";
import { systemClock } from "../../src/runtime/index.js";
import { createSecrets } from "../../src/secrets/index.js";
import { productionPreflight, type PreflightProblem } from "../../src/server/preflight.js";
import { productionSettings } from "../http/helpers.js";
import { LogCapture } from "../helpers/logs.js";
import { runMain } from "../cli/io.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "rampart-preflight-db-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function check(env: Record<string, string>): Promise<PreflightProblem[]> {
  const config = loadConfig(env);
  const log = createLogger({ level: "silent", format: "json", redactor: new SecretRedactor(), destination: new LogCapture() });
  const secrets = createSecrets({ config, env, redactor: new SecretRedactor(), log, clock: systemClock, refreshIntervalMs: 0 });
  try {
    return await productionPreflight(config, secrets);
  } finally {
    await secrets.close();
  }
}

const good = (extra: Record<string, string> = {}) => ({ ...productionSettings(), RAMPART_DATA_DIR: tempDir(), ...extra });
const databaseProblems = (problems: readonly PreflightProblem[]) => problems.filter((p) => p.variable.startsWith("DATABASE_") || p.variable === "secret database-url");

describe("preflight: TLS to a PostgreSQL server that is not on loopback", () => {
  it("refuses DATABASE_SSL=disable, naming the host and demanding verify-full", async () => {
    const problems = databaseProblems(await check(good({ DATABASE_URL: "postgres://app:pw@db.internal:5432/rampart" })));
    expect(problems).toEqual([{ variable: "DATABASE_SSL", problem: expect.stringMatching(/^is disable, but DATABASE_URL reaches PostgreSQL at db\.internal over the network: .*clear text; set DATABASE_SSL=verify-full/) }]);
  });

  it("refuses DATABASE_SSL=require: encrypted, but any certificate is accepted", async () => {
    const problems = databaseProblems(await check(good({ DATABASE_URL: "postgres://app:pw@10.0.4.7/rampart", DATABASE_SSL: "require" })));
    expect(problems).toEqual([{ variable: "DATABASE_SSL", problem: expect.stringMatching(/^is require for PostgreSQL at 10\.0\.4\.7 \(DATABASE_URL\): it encrypts but accepts any certificate.*set DATABASE_SSL=verify-full/) }]);
  });

  it("passes DATABASE_SSL=verify-full, with Node's CAs or a readable CA bundle", async () => {
    expect(databaseProblems(await check(good({ DATABASE_URL: "postgres://app:pw@db.internal/rampart", DATABASE_SSL: "verify-full" })))).toEqual([]);
    const ca = join(tempDir(), "ca.pem");
    writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    expect(databaseProblems(await check(good({ DATABASE_URL: "postgres://app:pw@db.internal/rampart", DATABASE_SSL: "verify-full", DATABASE_SSL_CA: ca })))).toEqual([]);
  });

  it("refuses a CA bundle that cannot be read or holds no certificate", async () => {
    const dir = tempDir();
    const missing = join(dir, "absent.pem");
    const empty = join(dir, "empty.pem");
    writeFileSync(empty, "not a certificate\n");
    for (const [file, problem] of [
      [missing, `cannot read the CA bundle ${missing} (ENOENT)`],
      [empty, `${empty} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`],
    ] as const) {
      const problems = databaseProblems(await check(good({ DATABASE_URL: "postgres://app:pw@db.internal/rampart", DATABASE_SSL: "verify-full", DATABASE_SSL_CA: file })));
      expect(problems).toEqual([{ variable: "DATABASE_SSL_CA", problem }]);
    }
  });

  it("checks the URL of the secret database-url when DATABASE_URL is unset, naming the secret", async () => {
    const secretsDir = tempDir();
    writeFileSync(join(secretsDir, "database-url"), "postgres://app:pw-in-file@db.internal/rampart\n");
    const problems = databaseProblems(await check(good({ RAMPART_SECRETS: `files:${secretsDir},env` })));
    expect(problems).toEqual([{ variable: "DATABASE_SSL", problem: expect.stringContaining("secret database-url reaches PostgreSQL at db.internal") }]);
  });

  it("reports a secret database-url that is not a usable URL, with the value masked", async () => {
    const secretsDir = tempDir();
    writeFileSync(join(secretsDir, "database-url"), "postgres://app:pw-in-file@db.internal/rampart?sslmode=disable\n");
    const problems = databaseProblems(await check(good({ RAMPART_SECRETS: `files:${secretsDir},env` })));
    expect(problems).toEqual([{ variable: "secret database-url", problem: expect.stringMatching(/remove 'sslmode' from the URL, as DATABASE_URL, instead got 'postgres:\/\/\*\*\*\*@db\.internal\/\*\*\*\*' \(masked\)$/) }]);
  });

  it.each([
    ["127.0.0.1", "postgres://app:pw@127.0.0.1:5432/rampart"],
    ["another 127.0.0.0/8 address", "postgres://app:pw@127.18.0.9/rampart"],
    ["localhost", "postgresql://app:pw@localhost/rampart"],
    ["::1", "postgres://app:pw@[::1]:5432/rampart"],
    ["an IPv4-mapped 127.0.0.1", "postgres://app:pw@[::ffff:127.0.0.1]/rampart"],
    ["a unix socket (host parameter)", "postgres://localhost/rampart?host=/var/run/postgresql"],
    ["a unix socket (encoded host)", "postgres://%2Fvar%2Frun%2Fpostgresql/rampart"],
    ["no host (localhost)", "postgres:///rampart"],
  ])("does not demand TLS on loopback: %s", async (_name, url) => {
    expect(databaseProblems(await check(good({ DATABASE_URL: url })))).toEqual([]);
  });

  it.each([
    ["a host name that merely resolves to loopback", "postgres://app:pw@db.localtest.me/rampart", "db.localtest.me"],
    ["an IPv4-mapped address outside 127.0.0.0/8", "postgres://app:pw@[::ffff:10.1.2.3]/rampart", "::ffff:a01:203"],
    ["a unix-socket-looking host parameter that is a TCP host", "postgres://app:pw@localhost/rampart?host=db.internal", "db.internal"],
  ])("treats %s as remote", async (_name, url, host) => {
    const problems = databaseProblems(await check(good({ DATABASE_URL: url })));
    expect(problems.map((p) => p.variable)).toEqual(["DATABASE_SSL"]);
    expect(problems[0]!.problem).toContain(`PostgreSQL at ${host} `);
  });

  it("rampart preflight exits 1 naming DATABASE_SSL for a remote database without verify-full", async () => {
    const r = await runMain(["preflight"], good({ DATABASE_URL: "postgres://app:Sup3rSecretPw@db.internal/rampart", DATABASE_SSL: "require" }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ {2}- DATABASE_SSL: is require for PostgreSQL at db\.internal \(DATABASE_URL\)/m);
    expect(r.stderr + r.stdout).not.toContain("Sup3rSecretPw");
  });
});
