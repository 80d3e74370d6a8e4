/**
 * Threat: personal data outliving its erasure. After a subject is erased
 * (GDPR Art. 17), copies of its ciphertexts remain in places the erasure does
 * not reach: backups, exports, logs, caches on other instances. Crypto-
 * shredding deletes the subject's only key, so every such copy must fail with
 * DecryptionFailed — on this instance, on an instance that had the key cached,
 * and on a fresh one — while other subjects are unaffected. Also: two
 * instances creating a subject's first key at once must not leave two keys
 * (a ciphertext under the "losing" key would be unreadable or unshreddable).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DecryptionFailed, type Keyring } from "../../src/crypto/index.js";
import { testModes } from "../helpers/modes.js";
import { keyringHarness, type KeyringHarness } from "./helpers.js";

const ctx = (id: string) => ({ table: "users", column: "phone", id });

for (const mode of testModes()) {
  describe(`shredding and subject keys (${mode}; notices over ${mode === "embedded" ? "the memory kv" : "Redis pub/sub"})`, () => {
    let h: KeyringHarness;
    let keyring: Keyring;
    beforeAll(async () => {
      h = await keyringHarness(mode);
      keyring = h.keyring;
    });
    afterAll(async () => h.done());

    describe("crypto-shredding", () => {
      it("after shred, the subject's old ciphertexts fail everywhere; other subjects are unaffected", async () => {
        const backupA = await keyring.encryptFor("alice", "+33 6 00 00 00 01", ctx("alice"));
        const backupA2 = await keyring.encryptFor("alice", "alice@example.com", ctx("alice-email"));
        const b = await keyring.encryptFor("bob", "+33 6 00 00 00 02", ctx("bob"));
        // Another instance reads alice's data, so it has her key cached.
        const other = await h.peer();
        expect(await other.decryptStringFor("alice", backupA, ctx("alice"))).toBe("+33 6 00 00 00 01");

        expect(await keyring.shred("alice")).toBe(true);
        // The notice reaches other instances through kv pub/sub, asynchronously (as over Redis).
        await vi.waitFor(() => expect(other.decryptFor("alice", backupA, ctx("alice"))).rejects.toBeInstanceOf(DecryptionFailed), { timeout: 2_000, interval: 20 });

        for (const k of [keyring, other, await h.peer()]) {
          await expect(k.decryptFor("alice", backupA, ctx("alice"))).rejects.toBeInstanceOf(DecryptionFailed);
          await expect(k.decrypt(backupA2, ctx("alice-email"))).rejects.toBeInstanceOf(DecryptionFailed);
          expect(await k.decryptStringFor("bob", b, ctx("bob"))).toBe("+33 6 00 00 00 02");
        }
        const row = await h.rt.runtime.db.kysely.selectFrom("rampart_subject_keys").select("subject").where("subject", "=", "alice").executeTakeFirst();
        expect(row).toBeUndefined();
      });

      it("a subject used again after shred gets a new key; the old data stays unreadable", async () => {
        const old = await keyring.encryptFor("carol", "v1", ctx("carol"));
        await keyring.shred("carol");
        const fresh = await keyring.encryptFor("carol", "v2", ctx("carol"));
        expect(await keyring.decryptStringFor("carol", fresh, ctx("carol"))).toBe("v2");
        await expect(keyring.decryptFor("carol", old, ctx("carol"))).rejects.toBeInstanceOf(DecryptionFailed);
      });

      it("shredding a subject without a key returns false", async () => {
        expect(await keyring.shred("nobody")).toBe(false);
      });

      it("the failure is the same error and message as any other decryption failure", async () => {
        const ct = await keyring.encryptFor("dave", "x", ctx("dave"));
        await keyring.shred("dave");
        const shredded = await keyring.decryptFor("dave", ct, ctx("dave")).catch((e: Error) => e);
        const tampered = await keyring.decrypt(`${ct.slice(0, -2)}AA`, ctx("dave")).catch((e: Error) => e);
        expect(shredded).toBeInstanceOf(DecryptionFailed);
        expect(tampered).toBeInstanceOf(DecryptionFailed);
        expect((shredded as Error).message).toBe((tampered as Error).message);
      });
    });

    describe("subject keys under concurrency", () => {
      it("two instances' concurrent first uses end with ONE key that both can use", async () => {
        const a = await h.peer();
        const b = await h.peer();
        const [ca, cb] = await Promise.all([a.encryptFor("erin", "from a", ctx("erin")), b.encryptFor("erin", "from b", ctx("erin"))]);
        const rows = await h.rt.runtime.db.kysely.selectFrom("rampart_subject_keys").select("key_id").where("subject", "=", "erin").execute();
        expect(rows).toHaveLength(1);
        expect(await b.decryptStringFor("erin", ca, ctx("erin"))).toBe("from a");
        expect(await a.decryptStringFor("erin", cb, ctx("erin"))).toBe("from b");
        expect(await (await h.peer()).decryptStringFor("erin", ca, ctx("erin"))).toBe("from a");
      });

      it("many concurrent first uses on one instance make one key", async () => {
        const cts = await Promise.all(Array.from({ length: 20 }, (_, i) => keyring.encryptFor("frank", `m${i}`, ctx("frank"))));
        const rows = await h.rt.runtime.db.kysely.selectFrom("rampart_subject_keys").select("key_id").where("subject", "=", "frank").execute();
        expect(rows).toHaveLength(1);
        expect(await keyring.decryptStringFor("frank", cts[19]!, ctx("frank"))).toBe("m19");
      });
    });
  });
}
