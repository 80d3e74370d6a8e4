/** Field encryption through the keyring: round trips, text form, context binding, DEK caching and provider call counts. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecryptionFailed, LocalKek, type Keyring } from "../../src/crypto/index.js";
import { countingKek, keyringHarness, type KeyringHarness } from "./helpers.js";

describe("keyring: field encryption (local KEK, embedded)", () => {
  let h: KeyringHarness;
  let kek: ReturnType<typeof countingKek>;
  let keyring: Keyring;

  beforeAll(async () => {
    const base = await keyringHarness("embedded");
    // Re-create with a counting provider over the same local KEK.
    const local = new LocalKek({ db: base.rt.runtime.db.kysely, masterKey: Buffer.from(await base.secrets.get("master-key"), "base64"), log: base.rt.runtime.log, clock: base.rt.runtime.clock });
    kek = countingKek(local);
    keyring = await base.peer({ kek });
    h = base;
  });
  afterAll(async () => h.done());

  it("round-trips a string and returns the rp1 text form", async () => {
    const ct = await keyring.encrypt("alice@example.com", { table: "users", column: "email", id: "1" });
    expect(ct.startsWith("rp1:")).toBe(true);
    expect(ct).not.toContain("alice");
    expect(await keyring.decryptString(ct, { table: "users", column: "email", id: "1" })).toBe("alice@example.com");
  });

  it("two encryptions of one value differ (random salt and nonce)", async () => {
    const ctx = { id: "2" };
    expect(await keyring.encrypt("same", ctx)).not.toBe(await keyring.encrypt("same", ctx));
  });

  it("a ciphertext moved to another row fails with DecryptionFailed", async () => {
    const ct = await keyring.encrypt("secret", { table: "users", column: "email", id: "1" });
    await expect(keyring.decrypt(ct, { table: "users", column: "email", id: "2" })).rejects.toBeInstanceOf(DecryptionFailed);
    await expect(keyring.decrypt(ct, { table: "users", column: "name", id: "1" })).rejects.toThrow("decryption failed");
  });

  it("one KEK call per cache miss, never per field", async () => {
    kek.reset();
    const fresh = await h.peer({ kek });
    const cts = await Promise.all(Array.from({ length: 200 }, (_, i) => fresh.encrypt(`v${i}`, { id: String(i) })));
    expect(kek.calls.generateDataKey).toBe(1);
    const pts = await Promise.all(cts.map((c, i) => fresh.decryptString(c, { id: String(i) })));
    expect(pts[199]).toBe("v199");
    // The freshly generated DEK is cached for decryption too.
    expect(kek.calls.unwrap).toBe(0);
    // A new instance unwraps that DEK once for all 200 fields, even when they are decrypted concurrently.
    const other = await h.peer({ kek });
    kek.reset();
    await Promise.all(cts.map((c, i) => other.decrypt(c, { id: String(i) })));
    expect(kek.calls.unwrap).toBe(1);
    expect(kek.calls.generateDataKey).toBe(0);
  });
});
