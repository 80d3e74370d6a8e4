/**
 * The env, dotenv and files providers against a real environment map and
 * real temporary files, and the chain built from RAMPART_SECRETS.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/index.js";
import { SecretRedactor } from "../../src/log/index.js";
import { ManualClock } from "../../src/runtime/clock.js";
import { buildProviderChain, FilesProvider, SecretLoadError, SecretNotFoundError } from "../../src/secrets/index.js";
import { harness, type Harness } from "./helpers.js";

let dir: string;
let h: Harness | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rampart-secrets-prov-"));
});

afterEach(async () => {
  await h?.secrets.close();
  h = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe("env provider", () => {
  it("reads master-key from RAMPART_SECRET_MASTER_KEY", async () => {
    h = harness({ env: { RAMPART_SECRET_MASTER_KEY: "env-master-key", RAMPART_SECRET_JWT_SIGNING: "env-jwt" } });
    expect(await h.secrets.get("master-key")).toBe("env-master-key");
    expect(await h.secrets.get("jwt-signing")).toBe("env-jwt");
    await expect(h.secrets.get("database-url")).rejects.toThrow('secret "database-url" not found; looked in: env (RAMPART_SECRET_DATABASE_URL)');
  });

  it("lists the RAMPART_SECRET_* variables as names, and nothing else", async () => {
    h = harness({ env: { RAMPART_SECRET_MASTER_KEY: "x-value", RAMPART_SECRETS: "env", RAMPART_SECRET_EMPTY: "", HOME: "/root" } });
    const { secrets } = await h.secrets.list();
    expect(secrets.map((s) => s.name)).toEqual(["master-key"]);
  });
});

describe("dotenv provider", () => {
  it("parses the file (quotes, comments, multi-line) without writing process.env", async () => {
    const file = join(dir, "secrets.env");
    writeFileSync(
      file,
      [
        "# secrets for development",
        "RAMPART_SECRET_MASTER_KEY=dotenv-master-key",
        'RAMPART_SECRET_JWT_SIGNING="-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----"',
        "RAMPART_SECRET_STRIPE_WEBHOOK='whsec_single # not a comment'",
        "OTHER=ignored",
        "",
      ].join("\n"),
    );
    h = harness({ configEnv: { RAMPART_SECRETS: `dotenv:${file}` } });
    expect(await h.secrets.get("master-key")).toBe("dotenv-master-key");
    expect(await h.secrets.get("jwt-signing")).toBe("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----");
    expect(await h.secrets.get("stripe-webhook")).toBe("whsec_single # not a comment");
    expect(process.env.RAMPART_SECRET_MASTER_KEY).toBeUndefined();
    expect(process.env.OTHER).toBeUndefined();
    expect((await h.secrets.list()).secrets.map((s) => s.name)).toEqual(["jwt-signing", "master-key", "stripe-webhook"]);
  });

  it("fails with the file named when the file is missing", async () => {
    const file = join(dir, "missing.env");
    h = harness({ configEnv: { RAMPART_SECRETS: `dotenv:${file}` } });
    const err = await h.secrets.get("master-key").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretLoadError);
    expect((err as Error).message).toContain(`cannot read ${file}`);
    expect((err as Error).message).toContain("ENOENT");
  });
});

describe("files provider", () => {
  it("reads one file per secret and trims exactly one trailing newline", async () => {
    writeFileSync(join(dir, "master-key"), "file-master-key\n");
    writeFileSync(join(dir, "crlf-secret"), "crlf-value\r\n");
    writeFileSync(join(dir, "two-newlines"), "kept-one\n\n");
    writeFileSync(join(dir, "spaces"), "  padded  ");
    h = harness({ configEnv: { RAMPART_SECRETS: `files:${dir}` } });
    expect(await h.secrets.get("master-key")).toBe("file-master-key");
    expect(await h.secrets.get("crlf-secret")).toBe("crlf-value");
    expect(await h.secrets.get("two-newlines")).toBe("kept-one\n");
    expect(await h.secrets.get("spaces")).toBe("  padded  ");
    const err = await h.secrets.get("absent").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect((err as Error).message).toContain(join(dir, "absent"));
  });

  it("lists regular files with kebab-case names only (no hidden entries, no directories)", async () => {
    writeFileSync(join(dir, "master-key"), "x-value-1");
    writeFileSync(join(dir, ".hidden"), "x-value-2");
    writeFileSync(join(dir, "Not_Kebab"), "x-value-3");
    mkdirSync(join(dir, "sub-dir"));
    const listed = await new FilesProvider(dir).list();
    expect(listed.map((l) => l.name)).toEqual(["master-key"]);
    expect(typeof listed[0]?.updatedAt).toBe("number");
  });

  it("fails (instead of reporting every secret missing) when the directory does not exist", async () => {
    h = harness({ configEnv: { RAMPART_SECRETS: `files:${join(dir, "nope")}` } });
    await expect(h.secrets.get("master-key")).rejects.toThrow(/cannot read directory/);
  });
});

describe("chain from RAMPART_SECRETS", () => {
  it("builds providers in order, and list shows which one wins a name", async () => {
    const file = join(dir, ".env");
    writeFileSync(file, "RAMPART_SECRET_MASTER_KEY=from-dotenv\n");
    mkdirSync(join(dir, "files"));
    writeFileSync(join(dir, "files", "master-key"), "from-files");
    writeFileSync(join(dir, "files", "jwt-signing"), "jwt-from-files");
    h = harness({
      configEnv: { RAMPART_SECRETS: `dotenv:${file}, files:${join(dir, "files")},env` },
      env: { RAMPART_SECRET_MASTER_KEY: "from-env", RAMPART_SECRET_DATABASE_URL: "postgres://db" },
    });
    expect(h.secrets.providerIds).toEqual([`dotenv:${file}`, `files:${join(dir, "files")}`, "env"]);
    expect(await h.secrets.get("master-key")).toBe("from-dotenv");
    expect(await h.secrets.get("jwt-signing")).toBe("jwt-from-files");
    expect(await h.secrets.get("database-url")).toBe("postgres://db");
    const { secrets } = await h.secrets.list();
    expect(secrets.map((s) => [s.name, s.provider, s.shadowed])).toEqual([
      ["database-url", "env", []],
      ["jwt-signing", `files:${join(dir, "files")}`, []],
      ["master-key", `dotenv:${file}`, [`files:${join(dir, "files")}`, "env"]],
    ]);
  });

  it("refuses a malformed RAMPART_SECRETS at config load, an unknown scheme or a bad argument at start, naming the entry", () => {
    for (const bad of ["files:", "env,", "Env", "a b"]) {
      expect(() => loadConfig({ RAMPART_SECRETS: bad })).toThrow(ConfigError);
    }
    const deps = { env: {}, redactor: new SecretRedactor(), clock: new ManualClock() };
    const build = (entries: string) => () => buildProviderChain({ ...deps, config: loadConfig({ RAMPART_SECRETS: entries }) });
    expect(build("env,ftp:x")).toThrow(
      "RAMPART_SECRETS: expected entries of a registered scheme (env, dotenv:<file>, files:<dir>, aws:<prefix>, vault:<mount>/<path>), instead got 'ftp:x': unknown scheme 'ftp'",
    );
    expect(build("envv")).toThrow("unknown scheme 'envv'");
    expect(build("vault:secret")).toThrow("RAMPART_SECRETS: expected vault:<mount>/<path>, instead got 'vault:secret'");
    expect(build("env:x")).toThrow("RAMPART_SECRETS: expected env, instead got 'env:x'");
    expect(loadConfig({}).secretsProviders).toEqual(["env"]);
  });

  it("refuses a vault: entry without VAULT_ADDR or credentials at start-up", () => {
    const deps = { env: {}, redactor: new SecretRedactor(), clock: new ManualClock() };
    expect(() => buildProviderChain({ ...deps, config: loadConfig({ RAMPART_SECRETS: "vault:secret/app" }) })).toThrow(/^VAULT_ADDR: expected/);
    expect(() => buildProviderChain({ ...deps, config: loadConfig({ RAMPART_SECRETS: "vault:secret/app", VAULT_ADDR: "http://127.0.0.1:8200" }) })).toThrow(/^VAULT_TOKEN: expected a Vault token, or VAULT_ROLE_ID and VAULT_SECRET_ID/);
    expect(() => buildProviderChain({ ...deps, config: loadConfig({ RAMPART_SECRETS: "vault:secret/app", VAULT_ADDR: "http://127.0.0.1:8200", VAULT_ROLE_ID: "role-123456" }) })).toThrow(ConfigError);
  });
});
