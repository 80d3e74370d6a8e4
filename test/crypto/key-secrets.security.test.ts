/**
 * Threat: a deployment running on key material nobody protects — a master key
 * generated on disk by development defaults, or a hard-coded fallback — or a
 * key value leaking through an error message. Development may generate keys
 * (0600, loudly); production must refuse to start without real secrets and
 * preflight must refuse a development key even when copied into a secret.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { cryptoPreflight, CryptoConfigError } from "../../src/crypto/index.js";
import { decodeKeySecret, devKeyPath, loadKeySecret } from "../../src/crypto/key-secrets.js";
import { LogCapture } from "../helpers/logs.js";
import { MemorySecrets, randomKeySecret } from "./helpers.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "rampart-keys-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("key secrets", () => {
  it("development: generates master.key once, mode 0600, with a loud warning, and reuses it", async () => {
    const dataDir = tempDir();
    const logs = new LogCapture();
    const log = pino({ level: "info" }, logs);
    const a = await loadKeySecret({ secrets: new MemorySecrets(), name: "master-key", nodeEnv: "development", dataDir, databaseUrl: undefined, log });
    const file = devKeyPath(dataDir, "master-key");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(logs.text).toContain("DEVELOPMENT KEY GENERATED");
    expect(logs.text).not.toContain(a.toString("base64url"));
    const b = await loadKeySecret({ secrets: new MemorySecrets(), name: "master-key", nodeEnv: "development", dataDir, databaseUrl: undefined, log });
    expect(b.equals(a)).toBe(true);
    expect(a.length).toBe(32);
  });

  it("production: a missing secret stops start-up and nothing is written", async () => {
    const dataDir = tempDir();
    const p = loadKeySecret({ secrets: new MemorySecrets(), name: "master-key", nodeEnv: "production", dataDir, databaseUrl: undefined, log: pino({ level: "silent" }) });
    await expect(p).rejects.toBeInstanceOf(CryptoConfigError);
    await expect(p).rejects.toThrow("secret master-key: required when NODE_ENV=production");
    expect(() => statSync(devKeyPath(dataDir, "master-key"))).toThrow();
  });

  it("with DATABASE_URL: a missing secret stops start-up in every NODE_ENV, naming it, and nothing is written", async () => {
    const dataDir = tempDir();
    for (const nodeEnv of ["development", "test"] as const) {
      for (const name of ["master-key", "blind-index-key"] as const) {
        const p = loadKeySecret({ secrets: new MemorySecrets(), name, nodeEnv, dataDir, databaseUrl: "postgres://db.internal/rampart", log: pino({ level: "silent" }) });
        await expect(p).rejects.toBeInstanceOf(CryptoConfigError);
        await expect(p).rejects.toThrow(`secret ${name}: required with DATABASE_URL`);
        await expect(p).rejects.toThrow(name === "master-key" ? "RAMPART_SECRET_MASTER_KEY" : "RAMPART_SECRET_BLIND_INDEX_KEY");
        expect(() => statSync(devKeyPath(dataDir, name))).toThrow();
      }
    }
    // A configured key is used as it is.
    const key = randomBytes(32);
    const loaded = await loadKeySecret({ secrets: new MemorySecrets({ "master-key": key.toString("hex") }), name: "master-key", nodeEnv: "test", dataDir, databaseUrl: "postgres://db.internal/rampart", log: pino({ level: "silent" }) });
    expect(loaded.equals(key)).toBe(true);
  });

  it("accepts 32 bytes as hex, base64 or base64url; rejects anything else without echoing it", () => {
    const key = randomBytes(32);
    for (const enc of [key.toString("hex"), key.toString("base64"), key.toString("base64url")]) expect(decodeKeySecret("master-key", enc).equals(key)).toBe(true);
    const weak = "correct horse battery staple";
    let message = "";
    try {
      decodeKeySecret("master-key", weak);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe("secret master-key: expected 32 bytes as 64 hex characters or base64, instead got a value of 28 characters");
    expect(message).not.toContain("horse");
    expect(() => decodeKeySecret("master-key", randomBytes(16).toString("hex"))).toThrow(CryptoConfigError);
  });
});

describe("cryptoPreflight", () => {
  const config = (dataDir: string, extra: Record<string, string> = {}) => loadConfig({ NODE_ENV: "production", RAMPART_DATA_DIR: dataDir, ...extra });

  it("passes with real secrets", async () => {
    const secrets = new MemorySecrets({ "master-key": randomKeySecret(), "blind-index-key": randomKeySecret() });
    expect(await cryptoPreflight(config(tempDir()), secrets)).toEqual([]);
  });

  it("refuses missing secrets", async () => {
    const problems = await cryptoPreflight(config(tempDir()), new MemorySecrets());
    expect(problems).toEqual([
      "RAMPART_KMS=local: secret master-key is not set (a generated development key is refused in production)",
      "secret blind-index-key is not set (a generated development key is refused in production)",
    ]);
  });

  it("refuses the generated development key even when copied into the secret", async () => {
    const dataDir = tempDir();
    await loadKeySecret({ secrets: new MemorySecrets(), name: "master-key", nodeEnv: "development", dataDir, databaseUrl: undefined, log: pino({ level: "silent" }) });
    const copied = readFileSync(devKeyPath(dataDir, "master-key"), "utf8").trim();
    const problems = await cryptoPreflight(config(dataDir), new MemorySecrets({ "master-key": copied, "blind-index-key": randomKeySecret() }));
    expect(problems).toEqual(["RAMPART_KMS=local: secret master-key is the generated development key from the data directory; use a key from a secrets provider"]);
  });

  it("names the missing options of the other providers", async () => {
    const secrets = new MemorySecrets({ "blind-index-key": randomKeySecret() });
    expect(await cryptoPreflight(config(tempDir(), { RAMPART_KMS: "pkcs11" }), secrets)).toEqual([
      "RAMPART_KMS=pkcs11: PKCS11_MODULE is not set",
      "RAMPART_KMS=pkcs11: PKCS11_TOKEN_LABEL is not set",
      "RAMPART_KMS=pkcs11: secret pkcs11-pin is not set",
    ]);
    expect(await cryptoPreflight(config(tempDir(), { RAMPART_KMS: "aws-kms" }), secrets)).toEqual(["RAMPART_KMS=aws-kms: AWS_KMS_KEY_ID is not set"]);
    expect(await cryptoPreflight(config(tempDir(), { RAMPART_KMS: "vault-transit" }), secrets)).toEqual([
      "RAMPART_KMS=vault-transit: VAULT_TRANSIT_ADDR is not set",
      "RAMPART_KMS=vault-transit: secret vault-token is not set",
    ]);
  });

  it("refuses a provider no registry knows, naming it and the known ones", async () => {
    const secrets = new MemorySecrets({ "blind-index-key": randomKeySecret() });
    expect(await cryptoPreflight(config(tempDir(), { RAMPART_KMS: "rot13" }), secrets)).toEqual(["RAMPART_KMS=rot13: unknown KEK provider; known: local, pkcs11, aws-kms, vault-transit"]);
  });
});
