/**
 * The `vault:<mount>/<path>` provider against the local Vault KV v2 fake
 * (Vault cannot run here): answers that are not the usual shape (no data, no
 * metadata, values that are not strings), a missing path when listing, and
 * the ways looking for a previous value can end without one or fail.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SecretLoadError, SecretNotFoundError } from "../../src/secrets/index.js";
import { events, harness, type Harness } from "./helpers.js";
import { VaultFake } from "./vault-fake.js";

const TOKEN = "hvs.static-token-123456";
let vault: VaultFake;
let h: Harness | undefined;

beforeEach(async () => {
  vault = new VaultFake();
  await vault.start();
  vault.tokens.add(TOKEN);
});

afterEach(async () => {
  await h?.secrets.close();
  h = undefined;
  await vault.stop();
});

const open = (path = "secret/rampart/prod"): Harness => harness({ configEnv: { RAMPART_SECRETS: `vault:${path}`, VAULT_ADDR: vault.addr, VAULT_TOKEN: TOKEN } });

describe("vault provider, unusual KV answers", () => {
  it("(Vault HTTP fake) a KV answer whose data is null is a missing secret", async () => {
    vault.rawKvResponse = { status: 200, body: JSON.stringify({ data: { data: null, metadata: { version: 3, deletion_time: "2026-01-02T00:00:00Z", destroyed: false } } }) };
    h = open();
    expect(await h.secrets.getOptional("jwt-signing")).toBeUndefined();
    await expect(h.secrets.get("jwt-signing")).rejects.toBeInstanceOf(SecretNotFoundError);
    expect((await h.secrets.list()).secrets).toEqual([]);
  });

  it("(Vault HTTP fake) a KV answer whose data is not an object is an error that suggests the mount is not KV v2", async () => {
    vault.rawKvResponse = { status: 200, body: JSON.stringify({ data: { data: ["jwt-signing"] } }) };
    h = open();
    const err = await h.secrets.get("jwt-signing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretLoadError);
    expect((err as Error).message).toContain("GET /v1/secret/data/rampart/prod answered without a KV v2 data object (is secret a KV version 2 mount?)");
  });

  it("(Vault HTTP fake) a KV answer without metadata gives the value without a version or a date", async () => {
    vault.rawKvResponse = { status: 200, body: JSON.stringify({ data: { data: { "jwt-signing": "no-metadata-value" }, metadata: { version: "7", created_time: 12 } } }) };
    h = open();
    expect(await h.secrets.get("jwt-signing")).toBe("no-metadata-value");
    const loaded = events(h.logs, "secret.loaded")[0];
    expect(loaded).toMatchObject({ secretName: "jwt-signing", provider: "vault:secret/rampart/prod" });
    expect(loaded?.version).toBeNull();
    const { secrets } = await h.secrets.list();
    expect(secrets).toHaveLength(1);
    // The listing says it does not know the version or the date.
    expect(secrets[0]).toMatchObject({ name: "jwt-signing", version: null, updatedAt: null });
  });

  it("(Vault HTTP fake) an array or an object under a key is an error naming what it is", async () => {
    vault.put("secret/rampart/prod", { "api-key": ["a", "b"], "jwt-signing": { nested: "value" } });
    h = open();
    await expect(h.secrets.get("api-key")).rejects.toThrow('key "api-key" at vault:secret/rampart/prod is an array, not a string');
    await expect(h.secrets.get("jwt-signing")).rejects.toThrow('key "jwt-signing" at vault:secret/rampart/prod is an object, not a string');
  });

  it("(Vault HTTP fake) a key whose value is null is a missing secret, and is not listed", async () => {
    vault.put("secret/rampart/prod", { "api-key": null, "jwt-signing": "present" });
    h = open();
    expect(await h.secrets.getOptional("api-key")).toBeUndefined();
    expect(await h.secrets.get("jwt-signing")).toBe("present");
    expect((await h.secrets.list()).secrets.map((s) => s.name)).toEqual(["jwt-signing"]);
  });

  it("(Vault HTTP fake) listing a path that does not exist lists nothing", async () => {
    h = open("secret/nothing/here");
    expect((await h.secrets.list()).secrets).toEqual([]);
    expect(vault.count("GET", "/v1/secret/data/nothing/here")).toBe(1);
  });
});

describe("vault provider, previous values", () => {
  beforeEach(() => {
    vault.put("secret/rampart/prod", { "jwt-signing": "same-value" });
    vault.put("secret/rampart/prod", { "jwt-signing": "same-value", other: "changed" });
  });

  it("(Vault HTTP fake) no older version with another value: no previous value", async () => {
    h = open();
    expect(await h.secrets.get("jwt-signing")).toBe("same-value");
    expect(await h.secrets.getPrevious("jwt-signing")).toBeUndefined();
    // The metadata named version 1, which was read and found to hold the current value.
    expect(vault.count("GET", "/v1/secret/metadata/rampart/prod")).toBe(1);
  });

  it("(Vault HTTP fake) metadata that is not found or not KV v2 metadata: no previous value", async () => {
    h = open();
    await h.secrets.get("jwt-signing");
    vault.rawMetadataResponse = { status: 404, body: JSON.stringify({ errors: [] }) };
    expect(await h.secrets.getPrevious("jwt-signing")).toBeUndefined();
    await h.secrets.close();

    h = open();
    await h.secrets.get("jwt-signing");
    vault.rawMetadataResponse = { status: 200, body: JSON.stringify({ data: { current_version: "2", versions: { "1": {} } } }) };
    expect(await h.secrets.getPrevious("jwt-signing")).toBeUndefined();
    await h.secrets.close();

    h = open();
    await h.secrets.get("jwt-signing");
    vault.rawMetadataResponse = { status: 200, body: JSON.stringify({ data: { current_version: 2, versions: null } }) };
    const reads = vault.count("GET", "/v1/secret/data/rampart/prod");
    expect(await h.secrets.getPrevious("jwt-signing")).toBeUndefined();
    // Nothing older was read: the metadata decided.
    expect(vault.count("GET", "/v1/secret/data/rampart/prod")).toBe(reads);
  });

  it("(Vault HTTP fake) a metadata read that fails is a load error of the previous value with the status", async () => {
    h = open();
    await h.secrets.get("jwt-signing");
    vault.rawMetadataResponse = { status: 500, body: JSON.stringify({ errors: ["internal error"] }) };
    const err = await h.secrets.getPrevious("jwt-signing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretLoadError);
    expect((err as Error).message).toContain("GET /v1/secret/metadata/rampart/prod failed with HTTP 500");
    // The current value is unaffected.
    expect(await h.secrets.get("jwt-signing")).toBe("same-value");
  });
});
