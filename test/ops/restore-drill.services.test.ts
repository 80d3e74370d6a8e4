/**
 * The restore drill of docs/operations.md, against the real PostgreSQL: a
 * database populated through the API (users with encrypted email and name,
 * sessions, an uploaded file, audit entries) is dumped with `pg_dump -Fc`,
 * dropped, recreated empty and restored with `pg_restore`. A new app on the
 * restored database with the same keys logs the users in, decrypts their
 * fields and the file, keeps their sessions, and `rampart audit verify` (the
 * real CLI) passes. The dump holds no plaintext personal data, and the same
 * restore with another master key decrypts nothing: the keys are part of the
 * backup.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, credentials, registerAndLogin } from "../helpers/api.js";
import { createTestApp } from "../helpers/app.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { runCli } from "../helpers/process.js";
import { serviceUrl } from "../helpers/services.js";
import { filePart, pdf } from "../files/fixtures.js";
import { upload } from "../files/helpers.js";

interface Seeded {
  email: string;
  password: string;
  name: string;
  refreshToken: string;
}

const key = () => randomBytes(32).toString("hex");

describe("restore drill: pg_dump, drop, pg_restore, same keys", { timeout: 240_000 }, () => {
  const keys = { RAMPART_SECRET_MASTER_KEY: key(), RAMPART_SECRET_BLIND_INDEX_KEY: key() };
  let env: TestEnv;
  let database: string;
  let dumpDir: string;
  let dumpFile: string;
  const users: Seeded[] = [];
  const document = pdf();
  let fileId: string;
  let auditEntries: number;

  /** One query on its own connection (`url` = a database of the server). */
  const query = async (url: string, sql: string): Promise<pg.QueryResult> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await c.query(sql);
    } finally {
      await c.end();
    }
  };
  const count = async (sql: string) => Number((await query(env.env.DATABASE_URL!, sql)).rows[0].n);

  beforeAll(async () => {
    env = await createTestEnv("postgres", keys);
    database = new URL(env.env.DATABASE_URL!).pathname.slice(1);
    dumpDir = mkdtempSync(join(tmpdir(), "rampart-backup-"));
    dumpFile = join(dumpDir, "rampart.dump");

    // Populate through the API, then stop the app as an operator would before a drill.
    const t = await createTestApp("postgres", { testEnv: env });
    try {
      for (let i = 0; i < 3; i++) {
        const u = await registerAndLogin(t.app, credentials());
        const name = `Ada Lovelace ${i} ${randomBytes(4).toString("hex")}`;
        const named = await call(t.app, { method: "PATCH", url: "/v1/me", token: u.accessToken, body: { name } });
        expect(named.statusCode, named.body).toBe(200);
        users.push({ email: u.email, password: u.password, name, refreshToken: u.refreshToken });
        if (i === 0) {
          const up = await upload(t.app, u.accessToken, [filePart("contract.pdf", document)]);
          expect(up.statusCode, up.body).toBe(201);
          fileId = up.json().data.file.id;
        }
      }
    } finally {
      await t.close();
    }
    auditEntries = await count("select count(*)::int as n from rampart_audit_log");
    expect(auditEntries).toBeGreaterThanOrEqual(users.length * 2);

    // Back up, drop, recreate empty, restore: PostgreSQL's own tools only.
    execFileSync("pg_dump", ["--format=custom", "--no-owner", `--file=${dumpFile}`, `--dbname=${env.env.DATABASE_URL}`], { stdio: "pipe" });
    const server = serviceUrl("TEST_DATABASE_URL");
    await query(server, `drop database ${database} with (force)`);
    await query(server, `create database ${database}`);
    expect(await count("select count(*)::int as n from information_schema.tables where table_name like 'rampart_%'")).toBe(0);
    execFileSync("pg_restore", ["--no-owner", "--exit-on-error", "--single-transaction", `--dbname=${env.env.DATABASE_URL}`, dumpFile], { stdio: "pipe" });
  });

  afterAll(async () => {
    rmSync(dumpDir, { recursive: true, force: true });
    await env.cleanup();
  });

  it("the dump holds no email, name or password in plain text", () => {
    // pg_restore without a database writes the dump as SQL: every row of every table.
    const sql = execFileSync("pg_restore", ["--file=-", dumpFile], { maxBuffer: 256 * 1024 * 1024 });
    expect(sql.length).toBeGreaterThan(10_000);
    expect(sql.includes(Buffer.from("rampart_audit_log"))).toBe(true);
    for (const u of users) {
      expect(sql.includes(Buffer.from(u.email)), u.email).toBe(false);
      expect(sql.includes(Buffer.from(u.name)), u.name).toBe(false);
      expect(sql.includes(Buffer.from(u.password)), "password").toBe(false);
    }
  });

  it("a new app on the restored database with the same keys logs users in and decrypts their data", async () => {
    const t = await createTestApp("postgres", { testEnv: env });
    try {
      for (const u of users) {
        const login = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } });
        expect(login.statusCode, login.body).toBe(200);
        const me = await call(t.app, { method: "GET", url: "/v1/me", token: login.data.accessToken });
        expect(me.statusCode, me.body).toBe(200);
        expect(me.data.user).toMatchObject({ email: u.email, name: u.name });
        // Sessions are rows of the database: a refresh token from before the backup still rotates.
        const refreshed = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: u.refreshToken } });
        expect(refreshed.statusCode, refreshed.body).toBe(200);
      }
      const owner = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: users[0]!.email, password: users[0]!.password } });
      const got = await t.app.inject({ method: "GET", url: `/v1/files/${fileId}`, headers: { authorization: `Bearer ${owner.data.accessToken}` } });
      expect(got.statusCode).toBe(200);
      expect(got.rawPayload.equals(document)).toBe(true);
      const wrong = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: users[1]!.email, password: `${users[1]!.password}!` } });
      expect(wrong.code).toBe("INVALID_CREDENTIALS");
    } finally {
      await t.close();
    }
  });

  it("rampart audit verify passes on the restored chain", async () => {
    const r = await runCli(["audit", "verify"], env.env);
    expect(r.stdout).toMatch(/^audit chain OK: (\d+) entries, head \d+:[0-9a-f]{64}$/m);
    // The entries from before the backup, plus those the checks above appended.
    const verified = Number(/audit chain OK: (\d+) entries/.exec(r.stdout)![1]);
    expect(verified).toBeGreaterThanOrEqual(auditEntries);
    expect(r.code).toBe(0);
  });

  it("the same restore with another master key decrypts nothing: the instance refuses to start, naming the key", async () => {
    const other = await createTestEnv("postgres", { RAMPART_SECRET_MASTER_KEY: key(), RAMPART_SECRET_BLIND_INDEX_KEY: keys.RAMPART_SECRET_BLIND_INDEX_KEY }, { schema: "empty" });
    try {
      execFileSync("pg_restore", ["--no-owner", "--exit-on-error", "--single-transaction", `--dbname=${other.env.DATABASE_URL}`, dumpFile], { stdio: "pipe" });
      // Step 9 of the drill: a wrong master-key is refused at start (it would otherwise fail every request
      // that touches encrypted data), and the refusal names the key, never a value from the backup.
      const err = await createTestApp("postgres", { testEnv: other }).then(
        async (t) => {
          await t.close();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/^master-key does not open the database's key encryption key: local KEK version \d+ is wrapped by another master key/);
      expect(err?.message).not.toContain(users[0]!.email);
    } finally {
      await other.cleanup();
    }
  });
});
