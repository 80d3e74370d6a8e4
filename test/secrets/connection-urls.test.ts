/**
 * DATABASE_URL, REDIS_URL and SMTP_URL from the secrets `database-url`,
 * `redis-url` and `smtp-url`: the `files:` provider for real (a mounted
 * directory), Vault through the local Vault HTTP fake and AWS Secrets
 * Manager through aws-sdk-client-mock (neither can run here). The variable
 * wins when set; a secret that is not a URL its variable accepts is refused
 * naming the secret, never quoting it; the database URL source re-reads and
 * watches the secret.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/index.js";
import { createLogger, SecretRedactor } from "../../src/log/index.js";
import { systemClock } from "../../src/runtime/clock.js";
import { databaseUrlSource, resolveConnectionUrls, resolveConnectionUrlsOnce } from "../../src/secrets/index.js";
import { LogCapture } from "../helpers/logs.js";
import { harness, type Harness } from "./helpers.js";
import { VaultFake } from "./vault-fake.js";

const DB = "postgres://rampart:db-pass-4f8a2c@db.internal:5432/rampart";
const REDIS = "rediss://:redis-pass-7b1e9d@cache.internal:6380";
const SMTP = "smtps://mailer:smtp-pass-2c6f0a@mail.internal:465";

let dir: string;
let h: Harness | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rampart-conn-secrets-"));
});
afterEach(async () => {
  await h?.secrets.close();
  h = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a secret file as a mounted secret volume presents it (a trailing newline, as `echo` leaves). */
function put(name: string, value: string): void {
  writeFileSync(join(dir, `.${name}.tmp`), `${value}\n`);
  renameSync(join(dir, `.${name}.tmp`), join(dir, name));
}

function filesHarness(configEnv: Record<string, string> = {}): Harness {
  h = harness({ configEnv: { RAMPART_SECRETS: `files:${dir}`, ...configEnv } });
  return h;
}

describe("connection URLs from the files: provider", () => {
  it("fills DATABASE_URL, REDIS_URL and SMTP_URL from database-url, redis-url and smtp-url", async () => {
    put("database-url", DB);
    put("redis-url", REDIS);
    put("smtp-url", SMTP);
    const { secrets, config } = filesHarness();
    expect([config.databaseUrl, config.redisUrl, config.smtpUrl]).toEqual([undefined, undefined, undefined]);
    const resolved = await resolveConnectionUrls(config, secrets);
    expect([resolved.config.databaseUrl, resolved.config.redisUrl, resolved.config.smtpUrl]).toEqual([DB, REDIS, SMTP]);
    expect([...resolved.fromSecrets].sort()).toEqual(["databaseUrl", "redisUrl", "smtpUrl"]);
    expect(Object.isFrozen(resolved.config)).toBe(true);
  });

  it("leaves a variable that is set as it is, and asks only for the unset ones", async () => {
    put("database-url", DB);
    put("smtp-url", SMTP);
    const fromEnv = "postgres://other@127.0.0.1:5432/app";
    const { secrets, config } = filesHarness({ DATABASE_URL: fromEnv });
    const resolved = await resolveConnectionUrls(config, secrets);
    expect(resolved.config.databaseUrl).toBe(fromEnv);
    expect(resolved.config.smtpUrl).toBe(SMTP);
    expect(resolved.config.redisUrl).toBeUndefined();
    expect([...resolved.fromSecrets]).toEqual(["smtpUrl"]);
    expect(secrets.stats().loads).toBe(2);
  });

  it("returns the same config when no provider holds any of them", async () => {
    const { secrets, config } = filesHarness();
    const resolved = await resolveConnectionUrls(config, secrets);
    expect(resolved.config).toBe(config);
    expect(resolved.fromSecrets.size).toBe(0);
  });

  it.each([
    ["database-url", "mysql://root:hunter2-secret-pw@db.internal/app", /^secret database-url: expected a URL with scheme postgres or postgresql, as DATABASE_URL, instead got 'mysql:\/\/\*\*\*\*@db\.internal\/\*\*\*\*' \(masked\)$/],
    ["database-url", "postgres://app:hunter2-secret-pw@db.internal/app?sslmode=disable", /^secret database-url: .*TLS to PostgreSQL is set by DATABASE_SSL and DATABASE_SSL_CA, so remove 'sslmode' from the URL, as DATABASE_URL/],
    ["redis-url", "http://:hunter2-secret-pw@cache.internal", /^secret redis-url: expected a URL with scheme redis or rediss, as REDIS_URL/],
    ["smtp-url", "hunter2-secret-pw", /^secret smtp-url: expected a URL with scheme smtp or smtps, as SMTP_URL, instead got '\*\*\*\*' \(masked\)$/],
  ])("refuses a %s that its variable would refuse, naming the secret and masking the value", async (name, value, message) => {
    put(name, value);
    const { secrets, config } = filesHarness();
    const err = await resolveConnectionUrls(config, secrets).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain("hunter2");
  });

  it("refuses TLS parameters in DATABASE_URL itself: DATABASE_SSL decides", () => {
    expect(() => loadConfig({ DATABASE_URL: "postgres://app:pw@db.internal/app?sslmode=require" })).toThrow(/^DATABASE_URL: expected .*remove 'sslmode' from the URL, instead got 'postgres:\/\/\*\*\*\*@db\.internal\/\*\*\*\*' \(masked\)$/);
    expect(() => loadConfig({ DATABASE_URL: "postgres://app:pw@db.internal/app?schema=app" })).toThrow(/'schema' is not supported/);
    expect(loadConfig({ DATABASE_URL: "postgres://app:pw@localhost/app?application_name=rampart" }).databaseUrl).toBe("postgres://app:pw@localhost/app?application_name=rampart");
  });

  it("resolveConnectionUrlsOnce registers the URL and its password with the redactor", async () => {
    put("database-url", DB);
    const config = loadConfig({ NODE_ENV: "test", RAMPART_SECRETS: `files:${dir}` });
    const redactor = new SecretRedactor();
    const log = createLogger({ level: "silent", format: "json", redactor, destination: new LogCapture() });
    const resolved = await resolveConnectionUrlsOnce(config, { env: {}, log, redactor, clock: systemClock });
    expect(resolved.databaseUrl).toBe(DB);
    expect(redactor.mask(`connecting with db-pass-4f8a2c to ${DB}`)).not.toMatch(/db-pass-4f8a2c/);
  });
});

describe("the database URL source (secret database-url)", () => {
  it("re-reads the file on demand, bypassing the cache, and reports each rotation to its watchers", async () => {
    put("database-url", DB);
    const { secrets } = filesHarness();
    const redactor = new SecretRedactor();
    const source = databaseUrlSource(secrets, redactor);
    expect(source.label).toBe("secret database-url");
    expect(await source.reread()).toBe(DB);
    const seen: string[] = [];
    const stop = source.watch((url) => seen.push(url));
    const rotated = DB.replace("db-pass-4f8a2c", "db-pass-new-91d3e7");
    put("database-url", rotated);
    // Within the cache TTL a plain get still answers the old value; reread goes to the file.
    expect(await secrets.get("database-url")).toBe(DB);
    expect(await source.reread()).toBe(rotated);
    expect(seen).toEqual([rotated]);
    expect(redactor.mask("db-pass-new-91d3e7")).not.toContain("db-pass-new-91d3e7");
    stop();
    put("database-url", DB);
    await source.reread();
    expect(seen).toEqual([rotated]);
  });
});

describe("connection URLs from Vault (mocked: local Vault HTTP fake)", () => {
  let vault: VaultFake;
  beforeEach(async () => {
    vault = new VaultFake();
    await vault.start();
    vault.tokens.add("hvs.connection-token-123456");
  });
  afterEach(() => vault.stop());

  it("(Vault mocked) reads database-url, redis-url and smtp-url from one KV v2 path", async () => {
    vault.put("secret/rampart/prod", { "database-url": DB, "redis-url": REDIS, "smtp-url": SMTP });
    h = harness({ configEnv: { RAMPART_SECRETS: "vault:secret/rampart/prod", VAULT_ADDR: vault.addr, VAULT_TOKEN: "hvs.connection-token-123456" } });
    const resolved = await resolveConnectionUrls(h.config, h.secrets);
    expect([resolved.config.databaseUrl, resolved.config.redisUrl, resolved.config.smtpUrl]).toEqual([DB, REDIS, SMTP]);
    expect(vault.count("GET", "/v1/secret/data/rampart/prod")).toBe(1);
  });

  it("(Vault mocked) a new KV version of database-url reaches the source's watchers on re-read", async () => {
    vault.put("secret/rampart/prod", { "database-url": DB });
    h = harness({ configEnv: { RAMPART_SECRETS: "vault:secret/rampart/prod", VAULT_ADDR: vault.addr, VAULT_TOKEN: "hvs.connection-token-123456" } });
    const source = databaseUrlSource(h.secrets, new SecretRedactor());
    expect((await resolveConnectionUrls(h.config, h.secrets)).config.databaseUrl).toBe(DB);
    const seen: string[] = [];
    source.watch((url) => seen.push(url));
    const rotated = DB.replace("db-pass-4f8a2c", "db-pass-vault-v2");
    vault.put("secret/rampart/prod", { "database-url": rotated });
    expect(await source.reread()).toBe(rotated);
    expect(seen).toEqual([rotated]);
  });
});

describe("connection URLs from AWS Secrets Manager (mocked: aws-sdk-client-mock)", () => {
  const sm = mockClient(SecretsManagerClient);
  beforeEach(() => {
    sm.reset();
    sm.onAnyCommand().rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: { httpStatusCode: 400 } }));
  });

  it("(AWS mocked) reads <prefix>database-url, <prefix>redis-url and <prefix>smtp-url at AWSCURRENT", async () => {
    for (const [name, value] of [["database-url", DB], ["redis-url", REDIS], ["smtp-url", SMTP]] as const) {
      sm.on(GetSecretValueCommand, { SecretId: `rampart/prod/${name}`, VersionStage: "AWSCURRENT" }).resolves({ SecretString: value, VersionId: `v-${name}` });
    }
    h = harness({ configEnv: { RAMPART_SECRETS: "aws:rampart/prod/", AWS_REGION: "eu-west-1" } });
    const resolved = await resolveConnectionUrls(h.config, h.secrets);
    expect([resolved.config.databaseUrl, resolved.config.redisUrl, resolved.config.smtpUrl]).toEqual([DB, REDIS, SMTP]);
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId).sort()).toEqual(["rampart/prod/database-url", "rampart/prod/redis-url", "rampart/prod/smtp-url"]);
  });

  it("(AWS mocked) a secret absent from Secrets Manager leaves its variable unset", async () => {
    sm.on(GetSecretValueCommand, { SecretId: "rampart/prod/database-url" }).resolves({ SecretString: DB, VersionId: "v1" });
    h = harness({ configEnv: { RAMPART_SECRETS: "aws:rampart/prod/", AWS_REGION: "eu-west-1" } });
    const resolved = await resolveConnectionUrls(h.config, h.secrets);
    expect(resolved.config.databaseUrl).toBe(DB);
    expect(resolved.config.redisUrl).toBeUndefined();
    expect(resolved.config.smtpUrl).toBeUndefined();
  });
});
