/**
 * Threat: an insecure setting reaches production unnoticed — a development
 * master key or blind-index key (readable next to the data), weak password
 * hashing, secrets fetched over plain HTTP, wildcard CORS with credentials,
 * rate limiting off, no HTTPS/HSTS, per-process stores behind several
 * instances (limits and revocations not shared), password-reset mail going
 * only to the log. Production must refuse to start and name every problem.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../../src/config/index.js";
import { createLogger, SecretRedactor } from "../../src/log/index.js";
import { systemClock } from "../../src/runtime/index.js";
import { createSecrets } from "../../src/secrets/index.js";
import { PreflightError, productionPreflight, type PreflightProblem } from "../../src/server/preflight.js";
import { serve } from "../../src/server/serve.js";
import { LogCapture } from "../helpers/logs.js";
import { runMain } from "../cli/io.js";
import { runCli } from "../helpers/process.js";
import { productionSettings } from "./helpers.js";

const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), "rampart-preflight-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function check(env: Record<string, string>): Promise<PreflightProblem[]> {
  const config: Config = loadConfig(env);
  const log = createLogger({ level: "silent", format: "json", redactor: new SecretRedactor(), destination: new LogCapture() });
  const secrets = createSecrets({ config, env, redactor: new SecretRedactor(), log, clock: systemClock, refreshIntervalMs: 0 });
  try {
    return await productionPreflight(config, secrets);
  } finally {
    await secrets.close();
  }
}

const good = () => ({ ...productionSettings(), RAMPART_DATA_DIR: dataDir() });
const variables = (problems: readonly PreflightProblem[]) => problems.map((p) => p.variable);

describe("production preflight", () => {
  it("passes a fully configured production setup (one instance, embedded database)", async () => {
    expect(await check(good())).toEqual([]);
  });

  it("passes several instances on PostgreSQL and Redis", async () => {
    expect(await check({ ...good(), RAMPART_INSTANCES: "4", DATABASE_URL: "postgres://app:pw@db.internal:5432/rampart", DATABASE_SSL: "verify-full", REDIS_URL: "rediss://cache.internal:6380" })).toEqual([]);
  });

  it.each<[string, Record<string, string | undefined>, string, RegExp]>([
    ["a missing master key", { RAMPART_SECRET_MASTER_KEY: undefined }, "secret master-key", /not set/],
    ["a missing blind-index key", { RAMPART_SECRET_BLIND_INDEX_KEY: undefined }, "secret blind-index-key", /not set/],
    ["a malformed master key", { RAMPART_SECRET_MASTER_KEY: "too-short" }, "secret master-key", /32 bytes/],
    ["weak argon2 memory", { ARGON2_MEMORY_KIB: "4096" }, "ARGON2_MEMORY_KIB", /at least 19456.*4096/],
    ["weak argon2 iterations", { ARGON2_ITERATIONS: "1" }, "ARGON2_ITERATIONS", /at least 2/],
    ["secrets from Vault over plain HTTP", { RAMPART_SECRETS: "env,vault:secret/rampart", VAULT_ADDR: "http://vault.internal:8200", VAULT_TOKEN: "s.not-a-real-token", DATABASE_URL: "postgres://app:pw@127.0.0.1/rampart", REDIS_URL: "redis://127.0.0.1:6379" }, "VAULT_ADDR", /plain HTTP/],
    ["wildcard CORS with credentials", { CORS_ORIGINS: "*", CORS_ALLOW_CREDENTIALS: "true" }, "CORS_ORIGINS", /\*.*CORS_ALLOW_CREDENTIALS=true/],
    ["a plain-http CORS origin", { CORS_ORIGINS: "https://app.example.com,http://app.example.com" }, "CORS_ORIGINS", /http:\/\/app\.example\.com is not HTTPS/],
    ["rate limiting off", { RATE_LIMIT_ENABLED: "false" }, "RATE_LIMIT_ENABLED", /switched off/],
    ["an http public URL", { RAMPART_PUBLIC_URL: "http://api.example.test" }, "RAMPART_PUBLIC_URL", /https:\/\//],
    ["no public URL (defaults to http://HOST:PORT)", { RAMPART_PUBLIC_URL: undefined }, "RAMPART_PUBLIC_URL", /http:\/\/127\.0\.0\.1:8080/],
    ["HSTS switched off", { HSTS_MAX_AGE_SECONDS: "0" }, "HSTS_MAX_AGE_SECONDS", /one year/],
    ["HSTS shorter than a year", { HSTS_MAX_AGE_SECONDS: "86400" }, "HSTS_MAX_AGE_SECONDS", /instead got 86400/],
    ["several instances on the memory store", { RAMPART_INSTANCES: "2", DATABASE_URL: "postgres://app:pw@db.internal:5432/rampart", DATABASE_SSL: "verify-full" }, "REDIS_URL", /RAMPART_INSTANCES=2/],
    ["several instances on the embedded database", { RAMPART_INSTANCES: "3", REDIS_URL: "redis://cache.internal:6379" }, "DATABASE_URL", /RAMPART_INSTANCES=3.*embedded/],
    ["no SMTP", { SMTP_URL: undefined }, "SMTP_URL", /not set/],
  ])("refuses %s", async (_name, change, variable, problem) => {
    const env: Record<string, string> = good();
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const problems = await check(env);
    expect(variables(problems)).toEqual([variable]);
    expect(problems[0]!.problem).toMatch(problem);
  });

  it("refuses the generated development keys even when a provider serves them", async () => {
    const dir = dataDir();
    const master = randomBytes(32).toString("base64url");
    const blind = randomBytes(32).toString("hex");
    // What a development run leaves in the data directory (src/crypto/key-secrets.ts).
    writeFileSync(join(dir, "master.key"), `${master}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "blind-index.key"), `${blind}\n`, { mode: 0o600 });
    const problems = await check({ ...good(), RAMPART_DATA_DIR: dir, RAMPART_SECRET_MASTER_KEY: master, RAMPART_SECRET_BLIND_INDEX_KEY: blind });
    expect(variables(problems).sort()).toEqual(["secret blind-index-key", "secret master-key"]);
    for (const p of problems) expect(p.problem).toMatch(/development key/);
  });

  it("lists every problem at once", async () => {
    const problems = await check({
      NODE_ENV: "production",
      RAMPART_DATA_DIR: dataDir(),
      RAMPART_SECRETS: "env",
      ARGON2_ITERATIONS: "1",
      CORS_ORIGINS: "*",
      CORS_ALLOW_CREDENTIALS: "true",
      RATE_LIMIT_ENABLED: "false",
      HSTS_MAX_AGE_SECONDS: "0",
      RAMPART_INSTANCES: "2",
    });
    expect(variables(problems).sort()).toEqual(
      [
        "secret master-key",
        "secret blind-index-key",
        "ARGON2_ITERATIONS",
        "CORS_ORIGINS",
        "RATE_LIMIT_ENABLED",
        "RAMPART_PUBLIC_URL",
        "HSTS_MAX_AGE_SECONDS",
        "REDIS_URL",
        "DATABASE_URL",
        "SMTP_URL",
      ].sort(),
    );
  });
});

describe("serve with NODE_ENV=production", () => {
  it("refuses insecure settings before anything starts: nothing is written to the data directory", async () => {
    const dir = dataDir();
    const env = { ...good(), RAMPART_DATA_DIR: dir, RAMPART_PUBLIC_URL: "http://api.example.test", RATE_LIMIT_ENABLED: "false", PORT: "0" };
    delete (env as Record<string, string>).RAMPART_SECRET_MASTER_KEY;
    const err = await serve(loadConfig(env), { runtime: { env, logDestination: new LogCapture() } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreflightError);
    expect(variables((err as PreflightError).problems).sort()).toEqual(["RAMPART_PUBLIC_URL", "RATE_LIMIT_ENABLED", "secret master-key"]);
    expect((err as Error).message).toMatch(/^refusing insecure production settings:\n {2}- /);
    // No embedded database, no generated key: the runtime was never created.
    expect(readdirSync(dir)).toEqual([]);
  });

  it("starts with a fully configured production setup", async () => {
    const env = { ...good(), PORT: "0" };
    const server = await serve(loadConfig(env), { runtime: { env, logDestination: new LogCapture() } });
    try {
      const res = await fetch(`${server.url}/health/live`);
      expect(res.status).toBe(200);
      expect(res.headers.get("strict-transport-security")).toMatch(/max-age=31536000/);
    } finally {
      await server.shutdown();
    }
    expect(existsSync(join(env.RAMPART_DATA_DIR, "master.key"))).toBe(false);
  });
});

describe("rampart preflight", () => {
  it("exits 1 listing every problem, one per line", async () => {
    const r = await runMain(["preflight"], { NODE_ENV: "production", RAMPART_DATA_DIR: dataDir(), RATE_LIMIT_ENABLED: "false" });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^rampart preflight: \d+ problem\(s\) production refuses:$/);
    const listed = lines.slice(1).map((l) => /^ {2}- ([^:]+): /.exec(l)?.[1]);
    expect(listed).toEqual(expect.arrayContaining(["secret master-key", "secret blind-index-key", "RATE_LIMIT_ENABLED", "RAMPART_PUBLIC_URL", "SMTP_URL"]));
    expect(listed).not.toContain(undefined);
  });

  it("exits 0 printing 'preflight passed' for a production-ready configuration", async () => {
    const r = await runMain(["preflight"], good());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("preflight passed");
  });

  it("checks as production even when NODE_ENV is not production", async () => {
    const r = await runMain(["preflight"], { ...good(), NODE_ENV: "development", ARGON2_MEMORY_KIB: "1024" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ARGON2_MEMORY_KIB: must be at least 19456 in production, instead got 1024");
  });

  it("makes serve exit 1 with the same list", async () => {
    const r = await runCli(["serve"], { ...good(), PORT: "0", SMTP_URL: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refusing insecure production settings:");
    expect(r.stderr).toContain("  - SMTP_URL: is not set");
  });
});
