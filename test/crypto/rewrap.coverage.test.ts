/**
 * `rewrap` on damaged and foreign data: a batch size that is not a positive
 * integer is refused; a subject key or a stored data key that no longer
 * unwraps is counted as failed and left on its KEK version while the rest
 * moves on; values that are not rp1, or use a subject key, are left alone; a
 * provider failure that is not a decryption failure stops the run.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalKek, type KekProvider, type Keyring } from "../../src/crypto/index.js";
import { SHARED_KEY_CONTEXT } from "../../src/crypto/data-keys.js";
import { encodeKeySection, fromText, parseHeader, replaceKeySection, toText } from "../../src/crypto/format.js";
import { keyringHarness, type KeyringHarness } from "./helpers.js";

const ctx = (id: number | string) => ({ table: "cov_rewrap", column: "body", id: String(id) });

function versionOf(value: string): number | "subject" {
  const h = parseHeader(fromText(value));
  return h.keySource.kind === "wrapped" ? h.keySource.ref.version : "subject";
}

/** The same value with one bit of its wrapped data key flipped (the payload is untouched). */
function corruptWrappedKey(value: string): string {
  const bytes = fromText(value);
  const h = parseHeader(bytes);
  if (h.keySource.kind !== "wrapped") throw new Error("expected a wrapped key section");
  const wrapped = Buffer.from(h.keySource.wrapped);
  wrapped[wrapped.length - 1]! ^= 0x01;
  return toText(replaceKeySection(bytes, h, encodeKeySection({ kind: "wrapped", ref: h.keySource.ref, wrapped })));
}

/** A KEK that passes everything to `inner`, except that unwrapping for `failOn` throws a plain (non-decryption) error. */
function failingUnwrap(inner: KekProvider, failOn: "subject" | "shared"): KekProvider {
  return {
    name: inner.name,
    current: () => inner.current(),
    generateDataKey: (c) => inner.generateDataKey(c),
    wrap: (d, c) => inner.wrap(d, c),
    unwrap: async (r, w, c) => {
      const shared = c === SHARED_KEY_CONTEXT;
      if ((failOn === "shared") === shared) throw new Error("kms unavailable");
      return inner.unwrap(r, w, c);
    },
    rotate: () => inner.rotate(),
    retire: (r) => inner.retire(r),
    versions: () => inner.versions(),
    close: () => inner.close(),
  };
}

describe("rewrap of damaged and foreign values", () => {
  let h: KeyringHarness;
  let keyring: Keyring;
  const rows = async () => (await sql<{ id: number; body: string | null }>`select id, body from cov_rewrap order by id`.execute(h.rt.runtime.db.kysely)).rows;
  const register = (k: Keyring) => k.registerCiphertextColumn({ table: "cov_rewrap", column: "body", idColumn: "id" });

  beforeAll(async () => {
    h = await keyringHarness("embedded");
    keyring = h.keyring;
    register(keyring);
    const db = h.rt.runtime.db.kysely;
    await sql`create table cov_rewrap (id bigint primary key, body text)`.execute(db);
    await sql`insert into cov_rewrap (id, body) values (1, ${await keyring.encrypt("good 1", ctx(1))})`.execute(db);
    await sql`insert into cov_rewrap (id, body) values (2, ${corruptWrappedKey(await keyring.encrypt("damaged", ctx(2)))})`.execute(db);
    await sql`insert into cov_rewrap (id, body) values (3, ${"not an rp1 value"})`.execute(db);
    await sql`insert into cov_rewrap (id, body) values (4, ${await keyring.encryptFor("user-x", "private", ctx(4))})`.execute(db);
    await sql`insert into cov_rewrap (id, body) values (5, ${await keyring.encrypt("good 5", ctx(5))})`.execute(db);
    await keyring.encryptFor("user-good", "fine", ctx("g"));
    await keyring.encryptFor("user-bad", "lost", ctx("b"));
    // Damage the wrapped DEK of one subject key in place.
    const bad = await db.selectFrom("rampart_subject_keys").select(["wrapped_dek"]).where("subject", "=", "user-bad").executeTakeFirstOrThrow();
    const flipped = Buffer.from(bad.wrapped_dek);
    flipped[flipped.length - 1]! ^= 0x01;
    await db.updateTable("rampart_subject_keys").set({ wrapped_dek: flipped }).where("subject", "=", "user-bad").execute();
  });
  afterAll(async () => h?.done());

  it("refuses a batch size that is not a positive integer, naming what it got", async () => {
    await expect(keyring.rewrap({ batchSize: 0 })).rejects.toThrow(/batchSize must be a positive integer, instead got 0/);
    await expect(keyring.rewrap({ batchSize: 2.5 })).rejects.toThrow(/instead got 2\.5/);
    await expect(keyring.rewrap({ batchSize: 0 })).rejects.toBeInstanceOf(RangeError);
    // Nothing was started: no cursor saved.
    expect(await h.rt.runtime.db.kysely.selectFrom("rampart_rewrap_cursors").selectAll().execute()).toEqual([]);
  });

  it("a provider error other than a decryption failure stops the run in either phase", async () => {
    await keyring.rotateKek();
    const db = h.rt.runtime.db.kysely;
    const masterKey = Buffer.from(await h.secrets.get("master-key"), "base64");
    const local = () => new LocalKek({ db, masterKey, log: h.rt.runtime.log, clock: h.rt.runtime.clock });
    const subjectVersions = async () => Object.fromEntries((await db.selectFrom("rampart_subject_keys").select(["subject", "kek_version"]).execute()).map((s) => [s.subject, s.kek_version]));

    // Failing in the subject-key phase: nothing moves.
    const first = await h.peer({ kek: failingUnwrap(local(), "subject") });
    register(first);
    await expect(first.rewrap({ batchSize: 2 })).rejects.toThrow("kms unavailable");
    expect(await subjectVersions()).toEqual({ "user-x": 1, "user-good": 1, "user-bad": 1 });

    // Failing in the column phase: the subject keys (done first) moved, except the damaged one; no column value did.
    const second = await h.peer({ kek: failingUnwrap(local(), "shared") });
    register(second);
    await expect(second.rewrap({ batchSize: 2 })).rejects.toThrow("kms unavailable");
    expect(await subjectVersions()).toEqual({ "user-x": 2, "user-good": 2, "user-bad": 1 });
    const current = await rows();
    expect(versionOf(current[0]!.body!)).toBe(1);
    expect(versionOf(current[4]!.body!)).toBe(1);
  });

  it("counts keys that no longer unwrap as failed, leaves them (and foreign values) alone, and rewraps the rest", async () => {
    const worker = await h.peer();
    register(worker);
    const before = await rows();
    const result = await worker.rewrap({ batchSize: 2 });
    expect(result.target.version).toBe(2);
    // One damaged subject key and one damaged column value.
    expect(result.failed).toBe(2);
    // The two good subject keys were moved by the interrupted run above.
    expect(result.subjectKeys).toBe(0);
    expect(result.ciphertexts).toBe(2);
    const after = await rows();
    expect(versionOf(after[0]!.body!)).toBe(2);
    expect(after[1]!.body).toBe(before[1]!.body);
    expect(versionOf(after[1]!.body!)).toBe(1);
    expect(after[2]!.body).toBe("not an rp1 value");
    expect(after[3]!.body).toBe(before[3]!.body);
    expect(versionOf(after[4]!.body!)).toBe(2);
    const subjects = Object.fromEntries(
      (await h.rt.runtime.db.kysely.selectFrom("rampart_subject_keys").select(["subject", "kek_version"]).execute()).map((s) => [s.subject, s.kek_version]),
    );
    expect(subjects).toEqual({ "user-x": 2, "user-good": 2, "user-bad": 1 });
    // The rewrapped values still decrypt; the run finished, so no cursor is left.
    expect(await worker.decryptString(after[0]!.body!, ctx(1))).toBe("good 1");
    expect(await worker.decryptStringFor("user-x", after[3]!.body!, ctx(4))).toBe("private");
    expect(await h.rt.runtime.db.kysely.selectFrom("rampart_rewrap_cursors").selectAll().execute()).toEqual([]);
  });
});
