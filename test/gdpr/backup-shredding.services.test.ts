/**
 * Threat: an erased user's data lives on in backups. A database dump taken
 * before the erasure still holds the user's wrapped data key; once the KEK
 * version that wrapped it is retired (destroyed in the HSM — the operator's
 * `rampart keys rotate && rampart keys rewrap && rampart keys retire N` after
 * erasures), the live keys can no longer open it, while everyone else's data
 * in the same dump still decrypts (their keys were rewrapped, not replaced).
 * Real SoftHSM2 token, real server flows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecryptionFailed } from "../../src/crypto/index.js";
import { emailContext } from "../../src/auth/users.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";
import { initSoftHsmToken, SOFTHSM_MODULE } from "../helpers/softhsm.js";

const TOKEN = "rampart-gdpr";
const PIN = "2468-rampart";

describe("crypto-shredding reaches backups (pkcs11 / SoftHSM2)", () => {
  let env: TestEnv;
  let t: TestApp;
  let kmsEnv: Record<string, string>;
  beforeAll(async () => {
    env = await createTestEnv("postgres");
    initSoftHsmToken(env.env.RAMPART_DATA_DIR!, TOKEN, PIN);
    kmsEnv = { RAMPART_KMS: "pkcs11", PKCS11_MODULE: SOFTHSM_MODULE, PKCS11_TOKEN_LABEL: TOKEN, PKCS11_KEY_LABEL: "rampart-kek", RAMPART_SECRET_PKCS11_PIN: PIN };
    Object.assign(env.env, kmsEnv);
    t = await createTestApp("postgres", { testEnv: { ...env, config: (await import("../../src/config/index.js")).loadConfig(env.env) } });
  });
  afterAll(async () => {
    await t.close();
    await env.cleanup();
  });

  it("a pre-erasure dump of the erased user stops decrypting once the KEK version is retired; others' data still decrypts", async () => {
    const gone = await registerAndLogin(t.app);
    const stays = await registerAndLogin(t.app);
    const db = t.runtime.db.kysely;
    // The "backup": rows as they were before the erasure.
    const dumpUsers = await db.selectFrom("rampart_users").select(["id", "email_enc"]).where("id", "in", [gone.userId, stays.userId]).execute();
    const dumpKeys = await db.selectFrom("rampart_subject_keys").selectAll().where("subject", "in", [gone.userId, stays.userId]).execute();
    const enc = (id: string) => dumpUsers.find((u) => u.id === id)!.email_enc!;
    const restoreKey = async (id: string) => {
      const row = dumpKeys.find((k) => k.subject === id)!;
      await db.insertInto("rampart_subject_keys").values(row).execute();
    };

    const erased = await call(t.app, { method: "DELETE", url: "/v1/me", token: gone.accessToken, body: { password: gone.password } });
    expect(erased.statusCode).toBe(200);

    // Without retiring the KEK, restoring the dump's key row would bring the data back:
    // this is why erasure is followed by the rotation procedure.
    await restoreKey(gone.userId);
    const fresh = await createTestRuntime({ ...env, config: t.runtime.config });
    expect(await fresh.runtime.crypto.decryptStringFor(gone.userId, enc(gone.userId), emailContext(gone.userId))).toBe(gone.email);
    await fresh.runtime.close();
    await db.deleteFrom("rampart_subject_keys").where("subject", "=", gone.userId).execute();

    // The procedure: a new KEK version, every live key rewrapped, the old version destroyed in the HSM.
    const before = await t.runtime.crypto.keysStatus();
    const oldVersion = before.current.version;
    await t.runtime.crypto.rotateKek();
    const rewrap = await t.runtime.crypto.rewrap();
    expect(rewrap.failed).toBe(0);
    await t.runtime.crypto.retireKek(oldVersion);

    // Restore the dump again and decrypt with the live keys: the erased user's data is gone for good…
    await restoreKey(gone.userId);
    const after = await createTestRuntime({ ...env, config: t.runtime.config });
    try {
      await expect(after.runtime.crypto.decryptStringFor(gone.userId, enc(gone.userId), emailContext(gone.userId))).rejects.toBeInstanceOf(DecryptionFailed);
      // …while the other user's ciphertexts from the same dump still open with their live (rewrapped) key.
      expect(await after.runtime.crypto.decryptStringFor(stays.userId, enc(stays.userId), emailContext(stays.userId))).toBe(stays.email);
    } finally {
      await after.runtime.close();
    }
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: stays.accessToken })).statusCode).toBe(200);
  });
});
