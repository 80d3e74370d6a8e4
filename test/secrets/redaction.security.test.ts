/**
 * Threat: secret values leaking into logs. A value loaded by the secrets
 * module must be masked in every log line, as is, inside a longer string, and
 * in its base64, URL-encoded and JSON-escaped forms, from the moment `get`
 * returns; the module's own events must never contain a value at all; and the
 * credentials it uses (Vault tokens) are masked the same way.
 */
import { afterEach, describe, expect, it } from "vitest";
import { SecretRedactor } from "../../src/log/index.js";
import { events, FakeProvider, harness, type Harness } from "./helpers.js";
import { VaultFake } from "./vault-fake.js";

const VALUE = "s3cr3t-Value/with+chars=&?";
let h: Harness;

afterEach(async () => {
  await h.secrets.close();
});

describe("loaded values are masked in logs", () => {
  it("masks the value as is, inside a longer string, in base64/base64url, URL-encoded and JSON-escaped", async () => {
    h = harness({ providers: [new FakeProvider().set("api-key", VALUE)] });
    const value = await h.secrets.get("api-key");
    h.log.info(`plain ${value}`);
    h.log.info(`embedded: prefix${value}suffix`);
    h.log.info({ header: `Bearer ${Buffer.from(value).toString("base64")}` }, "base64");
    h.log.info(`b64url ${Buffer.from(value).toString("base64url")}`);
    h.log.info(`url https://example.test/cb?k=${encodeURIComponent(value)}`);
    h.log.info({ nested: { body: JSON.stringify({ apiKey2: value }) } }, "json in json");
    h.log.error({ err: new Error(`request failed with key ${value}`) }, "error with stack");

    const text = h.logs.text;
    for (const form of [value, Buffer.from(value).toString("base64"), Buffer.from(value).toString("base64url"), encodeURIComponent(value)]) {
      expect(text).not.toContain(form);
    }
    expect(h.logs.lines).toHaveLength(7 + events(h.logs, "secret.loaded").length);
    expect(h.logs.lines.filter((l) => l.includes("[REDACTED]"))).toHaveLength(7);
  });

  it("registers the value before get resolves", async () => {
    h = harness({ providers: [new FakeProvider().set("api-key", VALUE)] });
    const value = await h.secrets.get("api-key");
    expect(h.redactor.mask(`x${value}x`)).toBe("x[REDACTED]x");
  });

  it("registers rotated and previous values too", async () => {
    const p = new FakeProvider().set("api-key", "first-value-123");
    p.previousValues.set("api-key", { value: "older-value-456" });
    h = harness({ providers: [p] });
    await h.secrets.get("api-key");
    p.set("api-key", "second-value-789");
    await h.secrets.refresh("api-key");
    await h.secrets.getPrevious("api-key");
    h.log.info("first-value-123 second-value-789 older-value-456");
    expect(h.logs.text).not.toMatch(/first-value-123|second-value-789|older-value-456/);
  });

  it("warns, naming only the secret, when a value is too short to be masked", async () => {
    h = harness({ providers: [new FakeProvider().set("pin", "1234")] });
    await h.secrets.get("pin");
    await h.secrets.refresh("pin");
    const warnings = events(h.logs, "secret.unredactable");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ secretName: "pin", provider: "fake" });
  });
});

describe("the module's own events carry no value", () => {
  it("loaded, rotated, stale, removed and failure events name the secret, provider and version only", async () => {
    // The logger masks with a redactor the service does not register into: lines are raw.
    const p = new FakeProvider().set("api-key", "first-raw-value", "v1");
    h = harness({ providers: [p], logRedactor: new SecretRedactor() });
    await h.secrets.get("api-key");
    p.set("api-key", "second-raw-value", "v2");
    await h.secrets.refresh("api-key");
    p.failWith = new Error("provider said second-raw-value is bad");
    h.clock.advance(301_000);
    await h.secrets.get("api-key");
    p.failWith = undefined;
    p.values.delete("api-key");
    await h.secrets.refresh("api-key");

    for (const e of ["secret.loaded", "secret.rotated", "secret.stale", "secret.removed"]) expect(events(h.logs, e)).toHaveLength(1);
    expect(h.logs.text).not.toContain("first-raw-value");
    expect(h.logs.text).not.toContain("second-raw-value");
    expect(events(h.logs, "secret.rotated")[0]).toEqual(expect.objectContaining({ secretName: "api-key", provider: "fake", version: "v2", previousVersion: "v1" }));
  });
});

describe("credentials of the providers are masked", () => {
  it("(Vault HTTP fake) masks VAULT_SECRET_ID, VAULT_ROLE_ID and the AppRole client token", async () => {
    const vault = new VaultFake();
    await vault.start();
    try {
      vault.put("secret/app", { "api-key": VALUE });
      h = harness({ configEnv: { RAMPART_SECRETS: "vault:secret/app", VAULT_ADDR: vault.addr, VAULT_ROLE_ID: vault.roleId, VAULT_SECRET_ID: vault.secretId } });
      await h.secrets.get("api-key");
      const clientToken = [...vault.tokens][0] ?? "";
      expect(clientToken).not.toBe("");
      h.log.info(`debugging auth: ${vault.roleId} ${vault.secretId} ${clientToken}`);
      expect(h.logs.text).not.toContain(vault.secretId);
      expect(h.logs.text).not.toContain(vault.roleId);
      expect(h.logs.text).not.toContain(clientToken);
    } finally {
      await vault.stop();
    }
  });

  it("masks VAULT_TOKEN from the configuration", async () => {
    h = harness({ configEnv: { RAMPART_SECRETS: "vault:secret/app", VAULT_ADDR: "http://127.0.0.1:1", VAULT_TOKEN: "hvs.config-token-987654" } });
    h.log.info("token is hvs.config-token-987654");
    expect(h.logs.text).not.toContain("hvs.config-token-987654");
  });
});
