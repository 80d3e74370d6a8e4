/**
 * Instances sharing one PostgreSQL database. Found when two instances were
 * started on one database: each generated its own development master key and
 * took its own `http://HOST:PORT` as token issuer, so the second answered 500
 * on everything encrypted (while its readiness passed) and refused the first
 * one's tokens. Now:
 *
 * - two instances given the same keys and public URL (and nothing else in
 *   common: their own data directories and ports) serve each other's users,
 *   tokens and encrypted fields;
 * - an instance whose master key does not open the database's KEK refuses to
 *   start naming the cause, and one that lost a start race fails readiness
 *   (the `kms` check) naming it;
 * - DATABASE_URL without the keys or without RAMPART_PUBLIC_URL refuses to
 *   start in every NODE_ENV, naming what to set, and writes no development
 *   key; the embedded database still generates its own.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { KekMismatchError } from "../../src/crypto/index.js";
import { devKeyPath } from "../../src/crypto/key-secrets.js";
import { healthPlugin } from "../../src/health/plugin.js";
import { SharedDatabaseConfigError } from "../../src/runtime/index.js";
import { buildApp } from "../../src/server/app.js";
import { serve } from "../../src/server/serve.js";
import { call, credentials, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { LogCapture } from "../helpers/logs.js";
import { createTestEnv, SHARED_DATABASE_PUBLIC_URL, type TestEnv } from "../helpers/modes.js";
import { runCli } from "../helpers/process.js";
import { createTestRuntime } from "../helpers/runtime.js";

const key = () => randomBytes(32).toString("hex");
const FIELD = { table: "notes", column: "body", id: "shared-1" };

/** The claims of a JWT, read without verifying it (the verifying is the instances' job). */
function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

async function kekRows(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query("select count(*)::int as n from rampart_kek_versions")).rows[0].n);
  } finally {
    await c.end();
  }
}

describe("instances sharing one PostgreSQL database", { timeout: 180_000 }, () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), "rampart-shared-"));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  describe("with the same configured keys and public URL", () => {
    let env: TestEnv;
    let a: TestApp;
    let b: { app: Awaited<ReturnType<typeof buildApp>>; close(): Promise<void>; dataDir: string };
    beforeAll(async () => {
      env = await createTestEnv("postgres");
      // Nothing in common but the database and what the configuration gives both: own data
      // directories (no development key file to share) and own ports (own default issuers).
      a = await createTestApp("postgres", { testEnv: env });
      const dataDir = tempDir();
      const rt = await createTestRuntime(env, { env: { RAMPART_DATA_DIR: dataDir, PORT: "18082" } });
      const app = await buildApp(rt.runtime);
      await app.ready();
      b = {
        app,
        dataDir,
        async close() {
          await app.close();
          await rt.runtime.close();
        },
      };
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
      await env?.cleanup();
    });

    it("a user registered on A logs in on B, and each accepts the other's tokens", async () => {
      const creds = credentials();
      expect((await call(a.app, { method: "POST", url: "/v1/auth/register", body: creds })).statusCode).toBe(202);
      // Found by the blind index B computes with its own copy of blind-index-key; the password hash checks.
      const login = await call(b.app, { method: "POST", url: "/v1/auth/login", body: creds });
      expect(login.statusCode, login.body).toBe(200);

      const onA = await call(a.app, { method: "POST", url: "/v1/auth/login", body: creds });
      expect(claims(onA.data.accessToken).iss).toBe(SHARED_DATABASE_PUBLIC_URL);
      const me = await call(b.app, { method: "GET", url: "/v1/me", token: onA.data.accessToken });
      expect(me.statusCode, me.body).toBe(200);
      expect(me.data.user.email).toBe(creds.email);
      expect((await call(a.app, { method: "GET", url: "/v1/me", token: login.data.accessToken })).statusCode).toBe(200);
    });

    it("an encrypted field written by A decrypts on B (per-user and shared data keys)", async () => {
      const u = await registerAndLogin(a.app);
      const name = `Grace Hopper ${randomBytes(3).toString("hex")}`;
      expect((await call(a.app, { method: "PATCH", url: "/v1/me", token: u.accessToken, body: { name } })).statusCode).toBe(200);
      const me = await call(b.app, { method: "GET", url: "/v1/me", token: u.accessToken });
      expect(me.data.user).toMatchObject({ email: u.email, name });

      const ct = await a.runtime.crypto.encrypt("written by A", FIELD);
      expect(await b.app.rampart.runtime.crypto.decryptString(ct, FIELD)).toBe("written by A");
    });

    it("neither instance generated a development key", () => {
      for (const dir of [env.config.dataDir, b.dataDir]) {
        for (const name of ["master-key", "blind-index-key"] as const) expect(existsSync(devKeyPath(dir, name)), `${name} in ${dir}`).toBe(false);
      }
    });

    it("an instance with another master key refuses to start, naming the cause (runtime, serve and the CLI)", async () => {
      expect(await kekRows(env.env.DATABASE_URL!)).toBeGreaterThan(0);
      const other = { RAMPART_SECRET_MASTER_KEY: key() };
      const err = await createTestRuntime(env, { env: other }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KekMismatchError);
      expect((err as Error).message).toMatch(/^master-key does not open the database's key encryption key: local KEK version 1 is wrapped by another master key/);

      const config = loadConfig({ ...env.env, ...other });
      await expect(serve(config, { runtime: { env: { ...env.env, ...other }, logDestination: new LogCapture() } })).rejects.toThrow(
        "master-key does not open the database's key encryption key",
      );

      const cli = await runCli(["serve"], { ...env.env, ...other, RAMPART_DATA_DIR: tempDir() });
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(/^rampart serve: master-key does not open the database's key encryption key: .*master-key-previous\n$/);
      // The instance with the right key still serves.
      expect((await call(a.app, { method: "GET", url: "/health/ready" })).statusCode).toBe(200);
    });
  });

  it("an instance that lost a start race to another master key fails readiness on `kms`, naming the cause", async () => {
    const env = await createTestEnv("postgres");
    try {
      // B starts first on the fresh database: no KEK exists yet, so nothing can disagree with its key.
      const late = await createTestRuntime(env, { env: { RAMPART_SECRET_MASTER_KEY: key(), RAMPART_DATA_DIR: tempDir() } });
      try {
        // A (the test database's own key) creates the KEK version under its master key.
        const a = await createTestApp("postgres", { testEnv: env });
        try {
          await a.runtime.crypto.encrypt("x", FIELD);
          expect((await call(a.app, { method: "GET", url: "/health/ready" })).statusCode).toBe(200);
        } finally {
          await a.close();
        }
        // B's readiness, as its app serves it.
        const probe = Fastify();
        await probe.register(healthPlugin, { checks: late.runtime.healthChecks, timeoutMs: 2_000, log: late.runtime.log, version: "test" });
        const res = await probe.inject({ method: "GET", url: "/health/ready" });
        await probe.close();
        expect(res.statusCode).toBe(503);
        const kms = res.json().checks["kms:responseTime"][0];
        expect(kms).toMatchObject({ status: "fail", output: "master-key does not open the database's key encryption key" });
        expect(res.json().checks["database:responseTime"][0].status).toBe("pass");
        // The public report names the cause only; the log has the version and check value.
        expect(res.body).not.toMatch(/check value|[0-9a-f]{32}/);
        expect(late.logs.text).toMatch(/local KEK version 1 is wrapped by another master key \(check value [0-9a-f]{32}\)/);
      } finally {
        await late.runtime.close();
      }
    } finally {
      await env.cleanup();
    }
  });

  it("DATABASE_URL without the keys refuses to start in every NODE_ENV, naming the secrets, and writes no key", async () => {
    for (const NODE_ENV of ["development", "test", "production"]) {
      const env = await createTestEnv("postgres", { NODE_ENV, RAMPART_AUTO_MIGRATE: "true", RAMPART_SECRET_MASTER_KEY: undefined, RAMPART_SECRET_BLIND_INDEX_KEY: undefined });
      try {
        const err = await createTestRuntime(env).catch((e: unknown) => e);
        expect(err, NODE_ENV).toBeInstanceOf(SharedDatabaseConfigError);
        expect((err as Error).message).toBe(
          "DATABASE_URL is set, so every instance on that database must be given the same keys and token issuer (none is generated); " +
            "set secret master-key (looked in: env (RAMPART_SECRET_MASTER_KEY)); secret blind-index-key (looked in: env (RAMPART_SECRET_BLIND_INDEX_KEY))",
        );
        for (const name of ["master-key", "blind-index-key"] as const) expect(existsSync(devKeyPath(env.config.dataDir, name))).toBe(false);
        expect(await kekRows(env.env.DATABASE_URL!)).toBe(0);
      } finally {
        await env.cleanup();
      }
    }
    // Only the blind-index key is needed when the KEK lives elsewhere, and the CLI says it in one line.
    const env = await createTestEnv("postgres", { RAMPART_SECRET_BLIND_INDEX_KEY: undefined });
    try {
      const cli = await runCli(["serve"], env.env);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toBe(
        "rampart serve: DATABASE_URL is set, so every instance on that database must be given the same keys and token issuer (none is generated); " +
          "set secret blind-index-key (looked in: env (RAMPART_SECRET_BLIND_INDEX_KEY))\n",
      );
      expect(existsSync(devKeyPath(env.config.dataDir, "blind-index-key"))).toBe(false);
    } finally {
      await env.cleanup();
    }
  });

  it("DATABASE_URL without RAMPART_PUBLIC_URL refuses to start, naming it; any configured URL is accepted", async () => {
    const env = await createTestEnv("postgres", { RAMPART_PUBLIC_URL: undefined });
    try {
      expect(env.config.publicUrl).toBe("http://127.0.0.1:0");
      const err = await createTestRuntime(env).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SharedDatabaseConfigError);
      expect((err as SharedDatabaseConfigError).missing).toEqual(["RAMPART_PUBLIC_URL (the issuer of access tokens, which every instance must sign and accept alike)"]);
      await expect(serve(env.config, { runtime: { env: env.env, logDestination: new LogCapture() } })).rejects.toThrow(/; set RAMPART_PUBLIC_URL \(the issuer of access tokens/);
      // What matters is that the operator chose it, even when it equals the default.
      const chosen = await createTestRuntime(env, { env: { RAMPART_PUBLIC_URL: "http://127.0.0.1:0" } });
      await chosen.runtime.close();
    } finally {
      await env.cleanup();
    }
  });

  it("the embedded database still generates its development keys and needs no public URL", async () => {
    const env = await createTestEnv("embedded");
    try {
      const rt = await createTestRuntime(env);
      try {
        await rt.runtime.crypto.encrypt("x", FIELD);
        await rt.runtime.crypto.blindIndex("shared.test");
      } finally {
        await rt.runtime.close();
      }
      for (const name of ["master-key", "blind-index-key"] as const) expect(existsSync(devKeyPath(env.config.dataDir, name))).toBe(true);
    } finally {
      await env.cleanup();
    }
  });
});
