/** The vault-transit provider over Vault's HTTP API, against a local node:http fake of the Transit engine (Vault HTTP fake). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWithContext } from "../../src/context/index.js";
import { CryptoConfigError, DecryptionFailed, KekUnavailableError, VaultTransitKek, type Keyring } from "../../src/crypto/index.js";
import { startVaultFake, type VaultFake } from "./fixtures/vault-fake.js";
import { keyringHarness, type KeyringHarness } from "./helpers.js";

let h: KeyringHarness;
let vault: VaultFake;
let keyring: Keyring;
const ctx = { table: "files", column: "body", id: "3" };
const provider = (token?: string, key = "rampart") =>
  new VaultTransitKek({ addr: vault.addr, mount: "transit", key, token: async () => token ?? vault.token, log: h.rt.runtime.log });

beforeAll(async () => {
  h = await keyringHarness("embedded");
  vault = await startVaultFake();
  keyring = await h.peer({ kek: provider() });
});
afterAll(async () => {
  await h.done();
  await vault.close();
});

describe("vault-transit KEK", () => {
  it("(Vault HTTP fake) creates a derived key on first use and wraps DEKs with datakey, the key context as derivation context", async () => {
    const ct = await keyring.encrypt("hello", ctx);
    expect(vault.keys.get("rampart")?.derived).toBe(true);
    const dk = vault.requests.filter((r) => r.path === "datakey/plaintext/rampart");
    expect(dk).toHaveLength(1);
    expect(typeof dk[0]!.body.context).toBe("string");
    expect(dk[0]!.body.bits).toBe(256);
    const other = await h.peer({ kek: provider() });
    expect(await other.decryptString(ct, ctx)).toBe("hello");
    expect(vault.requests.filter((r) => r.path === "decrypt/rampart")).toHaveLength(1);
  });

  it("(Vault HTTP fake) a call made while serving a request carries its traceparent; a background call none", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const kek = provider();
    await runWithContext({ traceId, sampled: true }, () => kek.generateDataKey({ table: "t", column: "c", id: "1" }));
    expect(vault.requests.at(-1)!.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    await kek.generateDataKey({ table: "t", column: "c", id: "2" });
    expect(vault.requests.at(-1)!.traceparent).toBeUndefined();
  });

  // Context binding, tampered wrapped keys and other versions are in kek-conformance.test.ts.
  it("(Vault HTTP fake) a bad token or an unreachable Vault is KekUnavailableError, not DecryptionFailed", async () => {
    await expect(provider("hvs.wrong").generateDataKey({})).rejects.toBeInstanceOf(KekUnavailableError);
    const down = new VaultTransitKek({ addr: "http://127.0.0.1:1", mount: "transit", key: "rampart", token: async () => "t", log: h.rt.runtime.log, timeoutMs: 500 });
    await expect(down.current()).rejects.toBeInstanceOf(KekUnavailableError);
  });

  it("(Vault HTTP fake) refuses a Transit key that is not derived", async () => {
    vault.keys.set("plain", { versions: [Buffer.alloc(32)], minDecryption: 1, derived: false });
    await expect(provider(undefined, "plain").current()).rejects.toBeInstanceOf(CryptoConfigError);
  });

  it("(Vault HTTP fake) rotate, rewrap with encrypt, retire raises min_decryption_version", async () => {
    const old = await keyring.encryptFor("user-v", "kept", ctx);
    const shared = await keyring.encrypt("shared", ctx);
    const ref = await keyring.rotateKek();
    expect(ref).toEqual({ provider: "vault-transit", keyId: "transit/rampart", version: 2 });
    await expect(keyring.retireKek(1)).rejects.toThrow("run rewrap first");
    const result = await keyring.rewrap();
    expect(result.subjectKeys).toBeGreaterThanOrEqual(1);
    await keyring.retireKek(1);
    expect(vault.keys.get("rampart")?.minDecryption).toBe(2);
    const fresh = await h.peer({ kek: provider() });
    expect(await fresh.decryptStringFor("user-v", old, ctx)).toBe("kept");
    // Shared-key ciphertexts outside registered columns keep their v1 wrap: after retirement they are gone.
    await expect(fresh.decrypt(shared, ctx)).rejects.toBeInstanceOf(DecryptionFailed);
    expect((await fresh.keysStatus()).versions.map((v) => [v.ref.version, v.state])).toEqual([
      [1, "retired"],
      [2, "active"],
    ]);
  });
});
