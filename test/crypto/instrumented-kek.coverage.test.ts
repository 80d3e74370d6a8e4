/**
 * The counting KEK decorator around a real local KEK (every provider
 * operation counted, timed and its failures counted, a foreign header refused
 * before the provider sees it), and the key-management functions of the
 * public `rampart/crypto` API (status, rotate, rewrap, retire).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DecryptionFailed,
  InstrumentedKek,
  KEK_OPERATIONS,
  KekRetireRefused,
  LocalKek,
  keysStatus,
  retireKek,
  rewrap,
  rotateKek,
  type KekOperation,
  type KekStats,
} from "../../src/crypto/index.js";
import { keyringHarness, type KeyringHarness } from "./helpers.js";

const ctx = { table: "coverage_docs", column: "body", id: "1" };

describe("InstrumentedKek around a local KEK", () => {
  let h: KeyringHarness;
  let local: LocalKek;
  let kek: InstrumentedKek;
  beforeAll(async () => {
    h = await keyringHarness("embedded");
    local = new LocalKek({ db: h.rt.runtime.db.kysely, masterKey: Buffer.from(await h.secrets.get("master-key"), "base64"), log: h.rt.runtime.log, clock: h.rt.runtime.clock });
    kek = new InstrumentedKek(local);
  });
  afterAll(async () => {
    await kek.close();
    await h.done();
  });

  const calls = (s: KekStats, op: KekOperation) => s.operations[op];

  it("passes each operation to the provider and counts it, with one latency sample per call", async () => {
    expect(kek.name).toBe(local.name);
    const before = kek.stats();
    const v1 = await kek.current();
    const dek = Buffer.alloc(32, 7);
    const wrapped = await kek.wrap(dek, ctx);
    expect(wrapped.ref).toEqual(v1);
    // What the decorator wrapped, the bare provider unwraps: nothing is changed on the way.
    expect(await local.unwrap(wrapped.ref, wrapped.wrapped, ctx)).toEqual(dek);
    expect(await kek.unwrap(wrapped.ref, wrapped.wrapped, ctx)).toEqual(dek);
    const v2 = await kek.rotate();
    expect(v2.version).toBe(v1.version + 1);
    expect(await kek.current()).toEqual(v2);
    await kek.retire(v1);
    const versions = await kek.versions();
    expect(versions.find((v) => v.ref.version === v1.version)?.state).toBe("retired");
    expect(versions.find((v) => v.ref.version === v2.version)?.state).toBe("active");

    const after = kek.stats();
    expect(after.provider).toBe(local.name);
    const expected: Record<KekOperation, number> = { current: 2, generateDataKey: 0, wrap: 1, unwrap: 1, rotate: 1, retire: 1, versions: 1 };
    for (const op of KEK_OPERATIONS) {
      expect(calls(after, op).calls - calls(before, op).calls, op).toBe(expected[op]);
      expect(calls(after, op).errors - calls(before, op).errors, op).toBe(0);
      expect(calls(after, op).latency.count - calls(before, op).latency.count, op).toBe(expected[op]);
    }
  });

  it("counts a provider failure as an error of that operation and passes the error on", async () => {
    const before = kek.stats();
    const wrapped = await kek.wrap(Buffer.alloc(32, 1), ctx);
    await expect(kek.unwrap(wrapped.ref, wrapped.wrapped, { ...ctx, id: "2" })).rejects.toBeInstanceOf(DecryptionFailed);
    const after = kek.stats();
    expect(calls(after, "unwrap").errors - calls(before, "unwrap").errors).toBe(1);
    expect(calls(after, "unwrap").calls - calls(before, "unwrap").calls).toBe(1);
    expect(calls(after, "unwrap").latency.count - calls(before, "unwrap").latency.count).toBe(1);
    expect(calls(after, "wrap").errors - calls(before, "wrap").errors).toBe(0);
  });

  it("refuses a header naming another provider with DecryptionFailed without calling (or counting) the provider", async () => {
    const wrapped = await kek.wrap(Buffer.alloc(32, 2), ctx);
    const before = kek.stats();
    await expect(kek.unwrap({ ...wrapped.ref, provider: "vault-transit" }, wrapped.wrapped, ctx)).rejects.toBeInstanceOf(DecryptionFailed);
    expect(kek.stats().operations.unwrap).toEqual(before.operations.unwrap);
  });

  it("the counters belong to the instance: a second decorator starts at zero", () => {
    const fresh = new InstrumentedKek(local).stats();
    for (const op of KEK_OPERATIONS) expect(fresh.operations[op]).toMatchObject({ calls: 0, errors: 0, latency: { count: 0 } });
  });
});

describe("key management through the rampart/crypto API", () => {
  let h: KeyringHarness;
  beforeAll(async () => {
    h = await keyringHarness("embedded");
  });
  afterAll(() => h.done());

  it("rotate, rewrap and retire: the old version is refused while a key depends on it, retired after the rewrap; data still decrypts", async () => {
    const keyring = h.keyring;
    const secret = await keyring.encryptFor("subject-1", "private value", ctx);
    const v1 = (await keysStatus(keyring)).current;
    const v2 = await rotateKek(keyring);
    expect(v2.version).toBe(v1.version + 1);

    const status = await keysStatus(keyring);
    expect(status.current).toEqual(v2);
    expect(status.versions.find((v) => v.ref.version === v1.version)).toMatchObject({ state: "active", current: false, subjectKeys: 1 });

    await expect(retireKek(keyring, v1.version)).rejects.toBeInstanceOf(KekRetireRefused);
    const result = await rewrap(keyring);
    expect(result).toMatchObject({ target: v2, subjectKeys: 1, failed: 0 });
    await retireKek(keyring, v1);

    const after = await keysStatus(keyring);
    expect(after.versions.find((v) => v.ref.version === v1.version)).toMatchObject({ state: "retired", subjectKeys: 0 });
    expect(after.versions.find((v) => v.ref.version === v2.version)).toMatchObject({ state: "active", current: true, subjectKeys: 1 });
    expect(await keyring.decryptStringFor("subject-1", secret, ctx)).toBe("private value");
  });
});
