/**
 * The pkcs11 KEK against SoftHSM2 when the token is not as it expects: a
 * session that cannot be opened, a login lost underneath it, a key object an
 * HSM administrator destroyed, two key objects under one label. Requires
 * softhsm2; a missing install fails the run instead of skipping it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecryptionFailed, KekUnavailableError, Pkcs11Kek } from "../../src/crypto/index.js";
import { Pkcs11Session } from "../../src/crypto/kek/pkcs11-session.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { initSoftHsmToken, SOFTHSM_MODULE } from "../helpers/softhsm.js";

const TOKEN = "rampart-cov";
const PIN = "2718-rampart";
const ctx = { table: "users", column: "email", id: "1" };

let env: TestEnv;
let rt: TestRuntime;
let main: Pkcs11Kek;
const opened: Pkcs11Kek[] = [];

const options = (keyLabel: string, extra: { tokenLabel?: string } = {}) => ({
  db: rt.runtime.db.kysely,
  modulePath: SOFTHSM_MODULE,
  tokenLabel: extra.tokenLabel ?? TOKEN,
  keyLabel,
  pin: PIN,
  log: rt.runtime.log,
  clock: rt.runtime.clock,
});
const open = async (keyLabel: string) => {
  const k = await Pkcs11Kek.open(options(keyLabel));
  opened.push(k);
  return k;
};
/** A session of its own on the token, as an HSM administrator would use. */
const admin = async <T>(fn: (s: Pkcs11Session) => T): Promise<T> => {
  const s = await Pkcs11Session.open(SOFTHSM_MODULE, TOKEN, PIN);
  try {
    return fn(s);
  } finally {
    s.close();
  }
};

beforeAll(async () => {
  env = await createTestEnv("embedded");
  initSoftHsmToken(env.env.RAMPART_DATA_DIR!, TOKEN, PIN);
  rt = await createTestRuntime(env);
  // Opened first, it owns the library's initialization: the others share it.
  main = await Pkcs11Kek.open(options("cov-main"));
});
afterAll(async () => {
  for (const k of opened) await k.close();
  await main.close();
  await rt.runtime.close();
  await env.cleanup();
});

describe("pkcs11 KEK when the token misbehaves (SoftHSM2)", () => {
  it("a session that cannot be opened (no token with that label) is KekUnavailableError naming the token and module, never the PIN", async () => {
    const err = await Pkcs11Kek.open(options("cov-main", { tokenLabel: "no-such-token" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KekUnavailableError);
    expect((err as Error).message).toContain(`PKCS#11: cannot open a session on token 'no-such-token' with module ${SOFTHSM_MODULE}`);
    expect((err as Error).message).not.toContain(PIN);
  });

  it("a login lost underneath (logged out by another session) is recovered: the session is reopened and the call retried", async () => {
    const wrapped = await main.wrap(Buffer.alloc(32, 3), ctx);
    await admin((s) => s.lib.C_Logout(s.handle));
    expect(await main.unwrap(wrapped.ref, wrapped.wrapped, ctx)).toEqual(Buffer.alloc(32, 3));
    await admin((s) => s.lib.C_Logout(s.handle));
    const again = await main.wrap(Buffer.alloc(32, 4), ctx);
    expect(await main.unwrap(again.ref, again.wrapped, ctx)).toEqual(Buffer.alloc(32, 4));
  });

  it("a key object destroyed in the token makes its data undecryptable with DecryptionFailed", async () => {
    const kek = await open("cov-destroyed");
    const wrapped = await kek.wrap(Buffer.alloc(32, 5), ctx);
    await admin((s) => {
      for (const key of s.findKeys("cov-destroyed")) s.destroy(key);
    });
    // A new instance (no handle cached) looks the key up and finds none.
    const fresh = await open("cov-destroyed");
    await expect(fresh.unwrap(wrapped.ref, wrapped.wrapped, ctx)).rejects.toBeInstanceOf(DecryptionFailed);
  });

  it("two key objects under one label: logged as an error, and the first one is used", async () => {
    const kek = await open("cov-duplicate");
    await kek.wrap(Buffer.alloc(32, 6), ctx);
    await admin((s) => s.generateKey("cov-duplicate"));
    const fresh = await open("cov-duplicate");
    const wrapped = await fresh.wrap(Buffer.alloc(32, 7), ctx);
    expect(await fresh.unwrap(wrapped.ref, wrapped.wrapped, ctx)).toEqual(Buffer.alloc(32, 7));
    const logged = rt.logs.records().filter((r) => r.msg === "several PKCS#11 keys share one label; using the first");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ label: "cov-duplicate", count: 2 });
  });
});
