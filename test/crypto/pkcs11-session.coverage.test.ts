/**
 * The PKCS#11 session helper on a real SoftHSM2 token: a wrong PIN fails
 * with the token's own return value and leaves no session open; reopening
 * closes the session it replaces, and copes with one already closed
 * underneath; a session closed by its owner is reopened on the next use; an
 * open that fails leaves the library as it found it.
 */
import type { PKCS11 } from "pkcs11js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pkcs11Code, Pkcs11Session } from "../../src/crypto/kek/pkcs11-session.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { initSoftHsmToken, SOFTHSM_MODULE } from "../helpers/softhsm.js";

const TOKEN = "rampart-session-cov";
const PIN = "3141-rampart";
const CKR_PIN_INCORRECT = 0xa0;
const CKR_SESSION_HANDLE_INVALID = 0xb3;

let env: TestEnv;
let s: Pkcs11Session;
beforeAll(async () => {
  env = await createTestEnv("embedded");
  initSoftHsmToken(env.env.RAMPART_DATA_DIR!, TOKEN, PIN);
  s = await Pkcs11Session.open(SOFTHSM_MODULE, TOKEN, PIN);
});
afterAll(async () => {
  s?.close();
  await env?.cleanup();
});

/** The addon's full interface (the session keeps a narrower one): session info and counts, for inspection only. */
const lib = (): PKCS11 => s.lib as unknown as PKCS11;

/** Sessions the token reports open. */
function openSessions(): number {
  const slot = lib().C_GetSlotList(true).find((x) => lib().C_GetTokenInfo(x).label.trim() === TOKEN)!;
  return lib().C_GetTokenInfo(slot).sessionCount;
}

/** The return value the token gives for a call on this session handle (undefined when it succeeds). */
function sessionState(handle: Buffer): number | undefined {
  try {
    lib().C_GetSessionInfo(handle);
    return undefined;
  } catch (err) {
    return pkcs11Code(err);
  }
}

describe("Pkcs11Session on SoftHSM2", () => {
  it("pkcs11Code reads a numeric code only", () => {
    expect(pkcs11Code(Object.assign(new Error("x"), { code: 0xb3 }))).toBe(0xb3);
    expect(pkcs11Code(Object.assign(new Error("x"), { code: "ENOENT" }))).toBeUndefined();
    expect(pkcs11Code(null)).toBeUndefined();
    expect(pkcs11Code(undefined)).toBeUndefined();
  });

  it("a wrong PIN fails with CKR_PIN_INCORRECT and closes the session it opened", async () => {
    // Login state belongs to the process: while `s` is logged in, a second login is CKR_USER_ALREADY_LOGGED_IN
    // whatever the PIN. Logged out, the PIN is checked.
    s.lib.C_Logout(s.handle);
    const before = openSessions();
    const err = await Pkcs11Session.open(SOFTHSM_MODULE, TOKEN, "not-the-pin").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(pkcs11Code(err)).toBe(CKR_PIN_INCORRECT);
    expect(openSessions()).toBe(before);
    // The right PIN logs in again.
    s.reopen();
    expect(s.findKeys("no-such-key")).toEqual([]);
  });

  it("reopen closes the session it replaces; the new one works", () => {
    const old = s.handle;
    const before = openSessions();
    const fresh = s.reopen();
    expect(fresh.equals(old)).toBe(false);
    expect(sessionState(old)).toBe(CKR_SESSION_HANDLE_INVALID);
    expect(sessionState(fresh)).toBeUndefined();
    expect(openSessions()).toBe(before);
    expect(s.handle.equals(fresh)).toBe(true);
  });

  it("reopen copes with a session already closed underneath, and the keys are still found", () => {
    s.generateKey("cov-session-key");
    s.lib.C_CloseSession(s.handle);
    const fresh = s.reopen();
    expect(sessionState(fresh)).toBeUndefined();
    const found = s.findKeys("cov-session-key");
    expect(found).toHaveLength(1);
    // The key still encrypts and decrypts in the token under the new session.
    const iv = Buffer.alloc(12, 1);
    const ct = s.gcm("encrypt", found[0]!, iv, Buffer.from("aad"), Buffer.from("hello"));
    expect(s.gcm("decrypt", found[0]!, iv, Buffer.from("aad"), ct).toString()).toBe("hello");
    // Handles are found again after a reopen: the old one may be stale.
    s.destroy(found[0]!);
    expect(s.findKeys("cov-session-key")).toHaveLength(0);
  });

  it("an open that fails after initializing the library finalizes it again, so the next session owns it", async () => {
    // `s` initialized the library (no other session is open in this process): closing it finalizes it.
    s.close();
    const err = await Pkcs11Session.open(SOFTHSM_MODULE, "no-such-token", PIN).catch((e: unknown) => e);
    expect((err as Error).message).toBe("PKCS#11 token with label 'no-such-token' not found (PKCS11_TOKEN_LABEL)");
    // Left initialized, C_Initialize would fail with CKR_CRYPTOKI_ALREADY_INITIALIZED.
    const { PKCS11 } = await import("pkcs11js");
    const probe = new PKCS11();
    probe.load(SOFTHSM_MODULE);
    probe.C_Initialize();
    probe.C_Finalize();
    s = await Pkcs11Session.open(SOFTHSM_MODULE, TOKEN, PIN);
    expect(s.findKeys("no-such-key")).toEqual([]);
  });
});
