/**
 * The `vault:<mount>/<path>` provider over real HTTP against a local fake of
 * Vault's KV v2 and AppRole endpoints (Vault cannot run here): reads, versions,
 * previous values, token and AppRole auth, renewal and re-login on 403.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SecretLoadError, SecretNotFoundError } from "../../src/secrets/index.js";
import { events, harness, type Harness } from "./helpers.js";
import { VaultFake } from "./vault-fake.js";

const SECOND = 1000;
let vault: VaultFake;
let h: Harness | undefined;

beforeEach(async () => {
  vault = new VaultFake();
  await vault.start();
});

afterEach(async () => {
  await h?.secrets.close();
  h = undefined;
  await vault.stop();
});

function withToken(extra: Record<string, string> = {}): Harness {
  const token = [...vault.tokens][0] ?? "";
  return harness({ configEnv: { RAMPART_SECRETS: "vault:secret/rampart/prod", VAULT_ADDR: vault.addr, VAULT_TOKEN: token, ...extra } });
}

function withAppRole(): Harness {
  return harness({ configEnv: { RAMPART_SECRETS: "vault:secret/rampart/prod", VAULT_ADDR: vault.addr, VAULT_ROLE_ID: vault.roleId, VAULT_SECRET_ID: vault.secretId } });
}

describe("vault provider, token auth", () => {
  beforeEach(() => {
    vault.tokens.add("hvs.static-token-123456");
    vault.put("secret/rampart/prod", { "jwt-signing": "vault-jwt-v1", "master-key": "vault-master-v1", port: 5432 });
  });

  it("(Vault HTTP fake) reads data.data[name] with the token and namespace, version from the KV metadata", async () => {
    h = withToken({ VAULT_NAMESPACE: "team-a" });
    expect(await h.secrets.get("jwt-signing")).toBe("vault-jwt-v1");
    const read = vault.requests.find((r) => r.path === "/v1/secret/data/rampart/prod");
    expect(read).toMatchObject({ method: "GET", token: "hvs.static-token-123456", namespace: "team-a" });
    expect(events(h.logs, "secret.loaded")[0]).toMatchObject({ secretName: "jwt-signing", provider: "vault:secret/rampart/prod", version: "1" });
  });

  it("(Vault HTTP fake) shares one read of the path among concurrent loads of different names", async () => {
    h = withToken();
    const values = await Promise.all([h.secrets.get("jwt-signing"), h.secrets.get("master-key"), h.secrets.getOptional("absent")]);
    expect(values).toEqual(["vault-jwt-v1", "vault-master-v1", undefined]);
    expect(vault.count("GET", "/v1/secret/data/")).toBe(1);
  });

  it("(Vault HTTP fake) a missing key or path is a missing secret; a non-string value is an error", async () => {
    h = withToken();
    await expect(h.secrets.get("absent")).rejects.toThrow('secret "absent" not found; looked in: vault:secret/rampart/prod (key "absent")');
    await expect(h.secrets.get("port")).rejects.toThrow('could not be loaded from vault:secret/rampart/prod: key "port" at vault:secret/rampart/prod is a number, not a string');
    await h.secrets.close();
    h = harness({ configEnv: { RAMPART_SECRETS: "vault:secret/other", VAULT_ADDR: vault.addr, VAULT_TOKEN: "hvs.static-token-123456" } });
    await expect(h.secrets.get("jwt-signing")).rejects.toBeInstanceOf(SecretNotFoundError);
  });

  it("(Vault HTTP fake) a new KV version is a rotation; getPrevious walks back to the older value", async () => {
    h = withToken();
    await h.secrets.get("jwt-signing");
    const cb = vi.fn();
    h.secrets.onRotate("jwt-signing", cb);
    vault.put("secret/rampart/prod", { "jwt-signing": "vault-jwt-v2", "master-key": "vault-master-v1" });
    vault.put("secret/rampart/prod", { "jwt-signing": "vault-jwt-v2", "master-key": "vault-master-v3" });
    await h.secrets.refresh("jwt-signing");
    expect(cb).toHaveBeenCalledExactlyOnceWith("vault-jwt-v2");
    expect(events(h.logs, "secret.rotated")[0]).toMatchObject({ secretName: "jwt-signing", version: "3", previousVersion: "1" });
    // Version 2 has the same jwt-signing as version 3: the previous value is version 1's.
    expect(await h.secrets.getPrevious("jwt-signing")).toBe("vault-jwt-v1");
    expect(vault.count("GET", "/v1/secret/metadata/rampart/prod")).toBe(1);
    expect(await h.secrets.getPrevious("master-key")).toBe("vault-master-v1");
  });

  it("(Vault HTTP fake) a revoked static token is a clear 403 error, without re-login", async () => {
    h = withToken();
    vault.tokens.clear();
    const err = await h.secrets.get("jwt-signing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretLoadError);
    expect((err as Error).message).toContain("Vault denied GET /v1/secret/data/rampart/prod (HTTP 403)");
    expect(vault.logins).toBe(0);
  });

  it("(Vault HTTP fake) lists the keys of the path with its version", async () => {
    h = withToken();
    const { secrets } = await h.secrets.list();
    expect(secrets.map((s) => [s.name, s.version, s.updatedAt])).toEqual([
      ["jwt-signing", "1", "2026-01-01T00:00:00.000Z"],
      ["master-key", "1", "2026-01-01T00:00:00.000Z"],
    ]);
  });

  it("(Vault HTTP fake) an unreachable Vault is a load error naming the address", async () => {
    const addr = vault.addr;
    await vault.stop();
    h = harness({ configEnv: { RAMPART_SECRETS: "vault:secret/rampart/prod", VAULT_ADDR: addr, VAULT_TOKEN: "hvs.static-token-123456" } });
    await expect(h.secrets.get("jwt-signing")).rejects.toThrow(`GET /v1/secret/data/rampart/prod to ${addr} failed: Error (ECONNREFUSED)`);
    await vault.start();
  });
});

describe("vault provider, AppRole auth", () => {
  beforeEach(() => {
    vault.put("secret/rampart/prod", { "jwt-signing": "vault-jwt-v1" });
  });

  it("(Vault HTTP fake) logs in once and reads with the client token", async () => {
    h = withAppRole();
    expect(await h.secrets.get("jwt-signing")).toBe("vault-jwt-v1");
    await h.secrets.refresh("jwt-signing");
    expect(vault.logins).toBe(1);
    const read = vault.requests.find((r) => r.path.startsWith("/v1/secret/data/"));
    expect(read?.token).toBe([...vault.tokens][0]);
  });

  it("(Vault HTTP fake) logs in again when Vault answers 403 (token revoked)", async () => {
    h = withAppRole();
    await h.secrets.get("jwt-signing");
    vault.tokens.clear();
    vault.put("secret/rampart/prod", { "jwt-signing": "vault-jwt-v2" });
    await h.secrets.refresh("jwt-signing");
    expect(await h.secrets.get("jwt-signing")).toBe("vault-jwt-v2");
    expect(vault.logins).toBe(2);
  });

  it("(Vault HTTP fake) renews the token after two thirds of its lease, and logs in again once it has run out", async () => {
    vault.leaseSeconds = 60;
    h = withAppRole();
    await h.secrets.get("jwt-signing");
    h.clock.advance(30 * SECOND);
    await h.secrets.refresh("jwt-signing");
    expect(vault.renewals).toBe(0);
    h.clock.advance(15 * SECOND); // 45 s of 60
    await h.secrets.refresh("jwt-signing");
    expect(vault.renewals).toBe(1);
    expect(vault.logins).toBe(1);
    h.clock.advance(61 * SECOND); // the renewed lease has run out
    await h.secrets.refresh("jwt-signing");
    expect(vault.logins).toBe(2);
  });

  it("(Vault HTTP fake) a rejected AppRole login is a load error with the status", async () => {
    h = withAppRole();
    vault.secretId = "rotated-secret-id"; // the configured one no longer works
    await expect(h.secrets.get("jwt-signing")).rejects.toThrow("AppRole login at auth/approle failed with HTTP 400");
  });
});
