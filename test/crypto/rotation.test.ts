/**
 * KEK rotation end to end, in both storage modes: data written under v1
 * (shared-key fields in a registered text column and a bytea column, and
 * per-subject keys), rotate, rewrap, retire v1 — and everything still
 * decrypts, on a fresh instance too; payload bytes are never rewritten. A
 * rewrap interrupted after a batch resumes from its cursor.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KekRetireRefused, type Keyring, type RewrapProgress } from "../../src/crypto/index.js";
import { parseHeader, fromText } from "../../src/crypto/format.js";
import { testModes } from "../helpers/modes.js";
import { keyringHarness, type KeyringHarness } from "./helpers.js";

const ROWS = 23;
const SUBJECTS = 6;
const ctx = (id: number | string) => ({ table: "test_docs", column: "body", id: String(id) });
const blobCtx = (id: number | string) => ({ table: "test_docs", column: "blob", id: String(id) });

function refOf(value: string | Uint8Array): string {
  const h = parseHeader(typeof value === "string" ? fromText(value) : Buffer.from(value));
  return h.keySource.kind === "wrapped" ? `v${h.keySource.ref.version}` : "subject";
}

/** Everything after the key section: must be byte-identical before and after a rewrap. */
function payloadOf(value: string): string {
  const bytes = fromText(value);
  const h = parseHeader(bytes);
  return bytes.subarray(h.keySectionStart + h.keySection.length).toString("hex");
}

for (const mode of testModes()) {
  describe(`KEK rotation end to end (${mode})`, () => {
    let h: KeyringHarness;
    let keyring: Keyring;
    const subjectCts: string[] = [];

    const register = (k: Keyring) => {
      k.registerCiphertextColumn({ table: "test_docs", column: "body", idColumn: "id" });
      k.registerCiphertextColumn({ table: "test_docs", column: "blob", idColumn: "id" });
    };
    const rows = async () =>
      (await sql<{ id: number; body: string; blob: Uint8Array }>`select id, body, blob from test_docs order by id`.execute(h.rt.runtime.db.kysely)).rows;
    const expectAllDecrypt = async (k: Keyring) => {
      for (const r of await rows()) {
        if (r.body === null) continue;
        expect(await k.decryptString(r.body, ctx(r.id))).toBe(`document ${r.id}`);
        expect((await k.decrypt(r.blob, blobCtx(r.id))).toString()).toBe(`blob ${r.id}`);
      }
      for (let s = 0; s < SUBJECTS; s++) expect(await k.decryptStringFor(`user-${s}`, subjectCts[s]!, ctx(`u${s}`))).toBe(`private ${s}`);
    };

    beforeAll(async () => {
      h = await keyringHarness(mode);
      keyring = h.keyring;
      register(keyring);
      const db = h.rt.runtime.db.kysely;
      await sql`create table test_docs (id bigint primary key, body text, blob bytea)`.execute(db);
      for (let i = 1; i <= ROWS; i++) {
        await sql`insert into test_docs (id, body, blob) values (${i}, ${await keyring.encrypt(`document ${i}`, ctx(i))}, ${await keyring.encryptToBuffer(`blob ${i}`, blobCtx(i))})`.execute(db);
      }
      await sql`insert into test_docs (id, body, blob) values (${ROWS + 1}, null, null)`.execute(db);
      for (let s = 0; s < SUBJECTS; s++) subjectCts.push(await keyring.encryptFor(`user-${s}`, `private ${s}`, ctx(`u${s}`)));
    });
    afterAll(async () => h?.done());

    it("status before rotation: v1 current, everything on v1", async () => {
      const st = await keyring.keysStatus();
      expect(st.provider).toBe("local");
      expect(st.current.version).toBe(1);
      expect(st.columns).toEqual(["test_docs.body", "test_docs.blob"]);
      const v1 = st.versions.find((v) => v.ref.version === 1)!;
      expect(v1).toMatchObject({ current: true, state: "active", subjectKeys: SUBJECTS, ciphertexts: ROWS * 2 });
    });

    it("rotate: v2 wraps new DEKs at once; retiring v1 is refused while data depends on it", async () => {
      const ref = await keyring.rotateKek();
      expect(ref.version).toBe(2);
      expect(refOf(await keyring.encrypt("new", ctx("new")))).toBe("v2");
      await expect(keyring.retireKek(2)).rejects.toBeInstanceOf(KekRetireRefused);
      const err = await keyring.retireKek(1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KekRetireRefused);
      expect((err as KekRetireRefused).dependents).toEqual({ subjectKeys: SUBJECTS, ciphertexts: ROWS * 2 });
    });

    it("rewrap moves every stored DEK to v2 without touching payloads, in batches with progress", async () => {
      const before = await rows();
      const progress: RewrapProgress[] = [];
      const result = await keyring.rewrap({ batchSize: 5, onProgress: (p) => void progress.push(p) });
      expect(result).toMatchObject({ subjectKeys: SUBJECTS, ciphertexts: ROWS * 2, failed: 0 });
      expect(result.target.version).toBe(2);
      const after = await rows();
      for (const [i, r] of after.entries()) {
        if (r.body === null) continue;
        expect(refOf(r.body)).toBe("v2");
        expect(refOf(r.blob)).toBe("v2");
        expect(payloadOf(r.body)).toBe(payloadOf(before[i]!.body));
      }
      expect(progress.filter((p) => p.phase === "subject-keys").at(-1)).toMatchObject({ done: SUBJECTS, total: SUBJECTS });
      const body = progress.filter((p) => p.target === "test_docs.body");
      expect(body.length).toBe(Math.ceil(ROWS / 5));
      expect(body.at(-1)).toMatchObject({ done: ROWS, total: ROWS, rewrapped: ROWS });
    });

    it("retire v1; everything still decrypts, here and on a fresh instance", async () => {
      await keyring.retireKek(1);
      const st = await keyring.keysStatus();
      expect(st.versions.find((v) => v.ref.version === 1)).toMatchObject({ state: "retired", subjectKeys: 0, ciphertexts: 0 });
      expect(st.versions.find((v) => v.ref.version === 2)).toMatchObject({ current: true, subjectKeys: SUBJECTS, ciphertexts: ROWS * 2 });
      await expectAllDecrypt(keyring);
      const fresh = await h.peer();
      await expectAllDecrypt(fresh);
      // The v1 key material is gone from the database.
      const v1 = await h.rt.runtime.db.kysely.selectFrom("rampart_kek_versions").selectAll().where("version", "=", 1).executeTakeFirstOrThrow();
      expect(v1.wrapped_key).toBeNull();
    });

    it("a rewrap that crashes after a batch resumes from its cursor", async () => {
      await keyring.rotateKek();
      // A separate instance runs the rewrap, as the CLI would.
      const worker = await h.peer();
      register(worker);
      let batches = 0;
      const crash = worker.rewrap({
        batchSize: 4,
        onProgress: (p) => {
          if (p.target === "test_docs.body" && ++batches === 2) throw new Error("simulated crash");
        },
      });
      await expect(crash).rejects.toThrow("simulated crash");
      const cursor = await h.rt.runtime.db.kysely.selectFrom("rampart_rewrap_cursors").selectAll().where("name", "=", "test_docs.body").executeTakeFirstOrThrow();
      expect(cursor.last_id).toBe("8");
      const seen: RewrapProgress[] = [];
      const result = await worker.rewrap({ batchSize: 4, onProgress: (p) => void seen.push(p) });
      // Resumed after row 8: the first body batch reports 12 done, and rows 1..8 were not rewritten again.
      expect(seen.find((p) => p.target === "test_docs.body")).toMatchObject({ done: 12 });
      expect(result.ciphertexts).toBe(ROWS * 2 - 8);
      expect(await h.rt.runtime.db.kysely.selectFrom("rampart_rewrap_cursors").selectAll().execute()).toEqual([]);
      await keyring.retireKek(2);
      await expectAllDecrypt(await h.peer());
    });
  });
}
