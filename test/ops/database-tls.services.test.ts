/**
 * DATABASE_SSL end to end, against a PostgreSQL server the test starts
 * (test/helpers/pg-server.ts) with TLS on and a certificate for `localhost`
 * and 127.0.0.1, issued by a CA the test makes with openssl. `verify-full`
 * connects with that CA and refuses a certificate another CA signed and a
 * host name the certificate does not name, saying why (the CLI prints it on
 * one line); `require` encrypts (pg_stat_ssl) without verifying. A running
 * server whose database suddenly presents a foreign certificate (a server
 * impersonated) answers 503 envelopes, never 500, and recovers without a
 * restart once the right certificate is back.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql, type Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { DatabaseUnavailableError, openDatabase, type Database } from "../../src/db/index.js";
import { createRuntime } from "../../src/runtime/index.js";
import { serve, type RunningServer } from "../../src/server/serve.js";
import { credentials } from "../helpers/api.js";
import { pollUntil } from "../helpers/async.js";
import { LogCapture } from "../helpers/logs.js";
import { sharedDatabaseSettings } from "../helpers/modes.js";
import { createTestCa, issueServerCertificate, startPgServer, type Issued, type PgServer, type TestCa } from "../helpers/pg-server.js";
import { runCli } from "../helpers/process.js";

describe("TLS to PostgreSQL (DATABASE_SSL) against a server with a certificate from the test's CA", { timeout: 90_000 }, () => {
  const id = randomBytes(4).toString("hex");
  const role = `rampart_tls_${id}`;
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const database = `rampart_tls_${id}`;
  let dir: string;
  let ca: TestCa;
  let rogue: TestCa;
  let genuine: Issued;
  let pgServer: PgServer;
  const opened: Database[] = [];
  const dataDirs: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rampart-db-tls-"));
    ca = createTestCa(dir, "rampart-test-ca");
    rogue = createTestCa(dir, "rogue-ca");
    genuine = issueServerCertificate(ca, dir, "server", { dns: ["localhost"], ip: ["127.0.0.1"] });
    // 127.0.0.2 is loopback too, but not a name in the certificate.
    pgServer = await startPgServer({ tls: genuine, extraListen: ["127.0.0.2"] });
    await pgServer.query(`create role ${role} login password '${password}'`);
    await pgServer.query(`create database ${database} owner ${role}`);
  });
  afterAll(async () => {
    for (const db of opened) await db.close().catch(() => undefined);
    await pgServer?.stop();
    for (const d of [dir, ...dataDirs]) if (d) rmSync(d, { recursive: true, force: true });
  });

  function env(host: string, tls: Record<string, string>): Record<string, string> {
    const dataDir = mkdtempSync(join(tmpdir(), "rampart-db-tls-data-"));
    dataDirs.push(dataDir);
    return {
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      PORT: "0",
      RATE_LIMIT_ENABLED: "false",
      RAMPART_DATA_DIR: dataDir,
      ...sharedDatabaseSettings(database),
      DATABASE_URL: pgServer.url(role, password, database, host),
      ...tls,
    };
  }

  async function open(host: string, tls: Record<string, string>): Promise<Database> {
    const db = await openDatabase(loadConfig(env(host, tls)));
    opened.push(db);
    return db;
  }

  /** Whether this session's own connection is TLS, as the server reports it. */
  async function sessionSsl(kysely: Kysely<any>): Promise<{ ssl: boolean; version: string | null }> {
    const { rows } = await sql<{ ssl: boolean; version: string | null }>`select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`.execute(kysely);
    return rows[0]!;
  }

  const verifyFull = () => ({ DATABASE_SSL: "verify-full", DATABASE_SSL_CA: ca.certFile });

  it("verify-full with the test's CA connects over TLS, by host name and by IP address", async () => {
    for (const host of ["localhost", "127.0.0.1"]) {
      const db = await open(host, verifyFull());
      await db.ping();
      expect(await sessionSsl(db.kysely)).toEqual({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
    }
  });

  it("verify-full refuses a certificate signed by another CA: the runtime and `rampart migrate` say why, on one line", async () => {
    const rogueEnv = env("localhost", { DATABASE_SSL: "verify-full", DATABASE_SSL_CA: rogue.certFile });
    const err = await createRuntime(loadConfig(rogueEnv), { env: rogueEnv, logDestination: new LogCapture() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(/^database unavailable: DATABASE_SSL=verify-full refused the server's certificate \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN): .*\); it is checked against the CA bundle DATABASE_SSL_CA \(.*rogue-ca\.crt\) and the host of DATABASE_URL$/);

    const cli = await runCli(["migrate"], rogueEnv);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^rampart migrate: database unavailable: DATABASE_SSL=verify-full refused the server's certificate \(\w+: .*rogue-ca\.crt/)]);
    expect(cli.stdout + cli.stderr).not.toContain(password);
  });

  it("verify-full without DATABASE_SSL_CA checks Node's default CAs, which do not know the test's CA", async () => {
    const db = await open("localhost", { DATABASE_SSL: "verify-full" });
    const err = await db.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(/refused the server's certificate .*checked against Node's default CAs \(set DATABASE_SSL_CA/);
  });

  it("verify-full refuses a host name the certificate does not name", async () => {
    const db = await open("127.0.0.2", verifyFull());
    const err = await db.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(/refused the server's certificate \(ERR_TLS_CERT_ALTNAME_INVALID: .*127\.0\.0\.2/);
  });

  it("require encrypts without verifying (any name, no CA); disable does not encrypt", async () => {
    const encrypted = await open("127.0.0.2", { DATABASE_SSL: "require" });
    expect((await sessionSsl(encrypted.kysely)).ssl).toBe(true);
    const plain = await open("127.0.0.1", { DATABASE_SSL: "disable" });
    expect((await sessionSsl(plain.kysely)).ssl).toBe(false);
  });

  describe("a running server whose database starts presenting a foreign certificate", () => {
    let server: RunningServer;
    const logs = new LogCapture();

    beforeAll(async () => {
      const e = env("localhost", verifyFull());
      server = await serve(loadConfig(e), { runtime: { env: e, logDestination: logs } });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    async function sessions(token: string): Promise<{ status: number; type: string | null; retryAfter: string | null; body: string }> {
      const res = await fetch(`${server.url}/v1/auth/sessions`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, type: res.headers.get("content-type"), retryAfter: res.headers.get("retry-after"), body: await res.text() };
    }

    it("answers 503 envelopes (never 500 or HTML) while it is refused, and recovers without a restart", async () => {
      const creds = credentials();
      const post = (path: string) => fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(creds) });
      expect((await post("/v1/auth/register")).status).toBe(202);
      const token = ((await (await post("/v1/auth/login")).json()) as { data: { accessToken: string } }).data.accessToken;
      expect((await sessions(token)).status).toBe(200);
      expect((await sessionSsl(server.runtime.db.kysely)).ssl).toBe(true);

      const impostor = issueServerCertificate(rogue, dir, "impostor", { dns: ["localhost"], ip: ["127.0.0.1"] });
      await pgServer.replaceCertificate(impostor);
      // Open connections keep their TLS session; new ones meet the new certificate.
      await pgServer.query("select pg_terminate_backend(pid) from pg_stat_activity where usename = $1", [role]);
      const seen: Awaited<ReturnType<typeof sessions>>[] = [];
      const refused = await pollUntil(
        async () => {
          const r = await sessions(token);
          seen.push(r);
          return r;
        },
        (r) => r.status === 503,
      );
      expect(refused.status).toBe(503);
      expect(refused.type).toMatch(/^application\/json/);
      expect(JSON.parse(refused.body)).toMatchObject({ success: false, code: "SERVICE_UNAVAILABLE" });
      expect(refused.retryAfter).toMatch(/^[1-9]\d*$/);
      expect(refused.body).not.toMatch(/certificate|UNABLE_TO|at \//);
      // The first 503 may be a pooled connection the termination cut; the next requests open new
      // connections, which meet the foreign certificate and log why.
      const tlsRefusal = /database unavailable: DATABASE_SSL=verify-full refused the server's certificate/;
      await pollUntil(
        async () => {
          seen.push(await sessions(token));
          return logs.text;
        },
        (text) => tlsRefusal.test(text),
      );
      expect(logs.text).toMatch(tlsRefusal);

      await pgServer.replaceCertificate(genuine);
      const back = await pollUntil(
        async () => {
          const r = await sessions(token);
          seen.push(r);
          return r;
        },
        (r) => r.status === 200,
      );
      expect(back.status).toBe(200);
      expect(seen.map((r) => r.status).filter((s) => s !== 200 && s !== 503)).toEqual([]);
      expect((await sessionSsl(server.runtime.db.kysely)).ssl).toBe(true);
    });
  });
});
