/**
 * The local KEK: versions are random keys in the database wrapped by the
 * `master-key` secret. Rotating the KEK needs no new secret; replacing the
 * master key re-wraps only the KEK rows (live through onRotate, or at start
 * with `master-key-previous`), after which the old master key is useless.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createKeyring, KekUnavailableError, type Keyring } from "../../src/crypto/index.js";
import { keyringHarness, MemorySecrets, randomKeySecret, type KeyringHarness } from "./helpers.js";

let h: KeyringHarness;
beforeAll(async () => {
  h = await keyringHarness("embedded");
});
afterAll(async () => h.done());

const ctx = { id: "1" };
const open = (secrets: MemorySecrets): Promise<Keyring> =>
  createKeyring({ config: h.rt.runtime.config, db: h.rt.runtime.db.kysely, secrets, log: h.rt.runtime.log });
const checks = async () => (await h.rt.runtime.db.kysely.selectFrom("rampart_kek_versions").select(["version", "master_key_check"]).orderBy("version").execute()).map((r) => r.master_key_check);

describe("local KEK and the master key", () => {
  it("rotate needs no new secret and keeps older versions readable", async () => {
    const before = await h.keyring.encrypt("under v1", ctx);
    const ref = await h.keyring.rotateKek();
    expect(ref).toEqual({ provider: "local", keyId: "default", version: 2 });
    const after = await h.keyring.encrypt("under v2", ctx);
    const fresh = await open(new MemorySecrets({ "master-key": await h.secrets.get("master-key") }));
    expect(await fresh.decryptString(before, ctx)).toBe("under v1");
    expect(await fresh.decryptString(after, ctx)).toBe("under v2");
    await fresh.close();
  });

  it("replacing master-key while running re-wraps the KEK rows; the old master key no longer opens anything", async () => {
    const oldMaster = await h.secrets.get("master-key");
    const data = await h.keyring.encrypt("survives a master key change", ctx);
    const oldChecks = await checks();
    const newMaster = randomKeySecret();
    h.secrets.rotate("master-key", newMaster);
    await vi.waitFor(async () => expect((await checks()).every((c, i) => c !== oldChecks[i])).toBe(true), { timeout: 5_000, interval: 20 });
    expect(new Set(await checks()).size).toBe(1);

    const withNew = await open(new MemorySecrets({ "master-key": newMaster }));
    expect(await withNew.decryptString(data, ctx)).toBe("survives a master key change");
    expect((await withNew.keysStatus()).rowsUnderOldMasterKey).toBe(0);
    await withNew.close();

    const withOld = await open(new MemorySecrets({ "master-key": oldMaster }));
    await expect(withOld.decrypt(data, ctx)).rejects.toBeInstanceOf(KekUnavailableError);
    await withOld.close();
  });

  it("a master key replaced while stopped is adopted at start with master-key-previous", async () => {
    const current = await h.secrets.get("master-key");
    const data = await h.keyring.encrypt("restart", ctx);
    const next = randomKeySecret();
    // Without the previous key the rows cannot be opened: an operational error, not "corrupt data".
    const lost = await open(new MemorySecrets({ "master-key": next }));
    expect((await lost.keysStatus()).rowsUnderOldMasterKey).toBeGreaterThan(0);
    await expect(lost.decrypt(data, ctx)).rejects.toBeInstanceOf(KekUnavailableError);
    await lost.close();

    const restarted = await open(new MemorySecrets({ "master-key": next, "master-key-previous": current }));
    expect((await restarted.keysStatus()).rowsUnderOldMasterKey).toBe(0);
    expect(await restarted.decryptString(data, ctx)).toBe("restart");
    await restarted.close();
    const onlyNext = await open(new MemorySecrets({ "master-key": next }));
    expect(await onlyNext.decryptString(data, ctx)).toBe("restart");
    await onlyNext.close();
  });
});
