/**
 * The pkcs11 KEK end to end with SoftHSM2 (Debian package `softhsm2`): a
 * token initialized in a temporary directory by this set-up, the KEK created
 * in it on first use (sensitive, non-extractable), data encrypted here and
 * decrypted by a new process after this one closed its session, and rotation
 * creating a new key object in the token. Requires softhsm2; a missing
 * install fails the run instead of skipping it.
 */
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyring, DecryptionFailed, type Keyring } from "../../src/crypto/index.js";
import { Pkcs11Session } from "../../src/crypto/kek/pkcs11-session.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { childCoverageEnv } from "../helpers/process.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { initSoftHsmToken, SOFTHSM_MODULE } from "../helpers/softhsm.js";
import { MemorySecrets, randomKeySecret } from "./helpers.js";

const MODULE = SOFTHSM_MODULE;
const TOKEN = "rampart-test";
const PIN = "4711-rampart";
const LABEL = "rampart-kek";

let env: TestEnv;
let rt: TestRuntime;
let keyring: Keyring;
let pkcs11Env: Record<string, string>;

const secrets = new MemorySecrets({ "pkcs11-pin": PIN, "blind-index-key": randomKeySecret() });
/** The runtime's own keyring (runtime.crypto), built from RAMPART_KMS=pkcs11 and the env secret provider. */
const open = async () => {
  rt = await createTestRuntime(env, { env: pkcs11Env });
  keyring = rt.runtime.crypto;
};
const close = () => rt.runtime.close();
/** A raw session on the token, to look at the key objects the way an HSM administrator would. */
const inspect = async <T>(fn: (s: Pkcs11Session) => T): Promise<T> => {
  const s = await Pkcs11Session.open(MODULE, TOKEN, PIN);
  try {
    return fn(s);
  } finally {
    s.close();
  }
};

beforeAll(async () => {
  env = await createTestEnv("embedded");
  // SoftHSM reads SOFTHSM2_CONF when the library initializes, in this process and in the child.
  initSoftHsmToken(env.env.RAMPART_DATA_DIR!, TOKEN, PIN);
  pkcs11Env = { ...env.env, RAMPART_KMS: "pkcs11", PKCS11_MODULE: MODULE, PKCS11_TOKEN_LABEL: TOKEN, PKCS11_KEY_LABEL: LABEL, RAMPART_SECRET_PKCS11_PIN: PIN };
  await open();
});
afterAll(async () => {
  await close();
  await env.cleanup();
});

describe("pkcs11 KEK with SoftHSM2", () => {
  const ctx = { table: "users", column: "email", id: "1" };
  let shared: string;
  let personal: string;

  it("creates the KEK in the token on first use: sensitive and non-extractable; CKA_VALUE cannot be read", async () => {
    expect(await inspect((s) => s.findKeys(LABEL).length)).toBe(0);
    shared = await keyring.encrypt("alice@example.com", ctx);
    personal = await keyring.encryptFor("user-1", "+33 6 12 34 56 78", ctx);
    await inspect((s) => {
      const [key, ...more] = s.findKeys(LABEL);
      expect(more).toHaveLength(0);
      const { P, lib, handle } = s;
      const attrs = lib.C_GetAttributeValue(handle, key!, [{ type: P.CKA_SENSITIVE }, { type: P.CKA_EXTRACTABLE }, { type: P.CKA_TOKEN }]);
      expect(attrs.map((a) => (a.value as Buffer)[0])).toEqual([1, 0, 1]);
      expect(() => lib.C_GetAttributeValue(handle, key!, [{ type: P.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
    });
  });

  it("encrypt, close the session, decrypt in a new process", async () => {
    await close();
    const items = [
      { ct: shared, context: ctx },
      { ct: personal, context: ctx, subject: "user-1" },
    ];
    const child = execFile(process.execPath, ["--import", "tsx", "test/crypto/fixtures/pkcs11-decrypt.ts"], {
      env: { ...process.env, ...childCoverageEnv(), ...pkcs11Env, TEST_PKCS11_PIN: PIN, LOG_LEVEL: "silent" },
      timeout: 60_000,
    });
    child.stdin!.end(JSON.stringify(items));
    const out = await new Promise<string>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      child.stdout!.on("data", (d) => (stdout += d));
      child.stderr!.on("data", (d) => (stderr += d));
      child.on("exit", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`child exited ${code}: ${stderr}`))));
    });
    expect(JSON.parse(out)).toEqual(["alice@example.com", "+33 6 12 34 56 78"]);
    await open();
  });

  // Tampered wrapped DEKs and wrong contexts failing inside the token are in kek-conformance.test.ts.
  it("rotate creates a new key object in the token; rewrap; retire destroys the old one", async () => {
    const ref = await keyring.rotateKek();
    expect(ref).toEqual({ provider: "pkcs11", keyId: LABEL, version: 2 });
    expect(await inspect((s) => s.findKeys(`${LABEL}.v2`).length)).toBe(1);
    await expect(keyring.retireKek(1)).rejects.toThrow("run rewrap first");
    const result = await keyring.rewrap();
    expect(result).toMatchObject({ subjectKeys: 1, failed: 0 });
    await keyring.retireKek(1);
    expect(await inspect((s) => s.findKeys(LABEL).length)).toBe(0);
    // The subject key was rewrapped under v2; the shared-key ciphertext outside any registered column was not.
    const fresh = await createKeyring({ config: rt.runtime.config, db: rt.runtime.db.kysely, secrets, log: rt.runtime.log });
    expect(await fresh.decryptStringFor("user-1", personal, ctx)).toBe("+33 6 12 34 56 78");
    await expect(fresh.decrypt(shared, ctx)).rejects.toBeInstanceOf(DecryptionFailed);
    await fresh.close();
  });
});
