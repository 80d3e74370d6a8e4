/**
 * Known-answer tests pinning the rp1 format, so that no future change can
 * silently break stored data: fixed master key, KEK, DEK, salt and nonce give
 * exactly these bytes; an independent implementation of the written spec
 * (WebCrypto's HKDF and AES-GCM, the byte layout spelled out here) agrees; and
 * a stored vector keeps decrypting through the real keyring and local KEK.
 */
import { webcrypto } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalContext } from "../../src/crypto/context.js";
import { SHARED_KEY_CONTEXT } from "../../src/crypto/data-keys.js";
import { encodeKeySection } from "../../src/crypto/format.js";
import { dekWrapAad, gcmWrap, kekWrapAad, masterKeyCheck, masterWrappingKey } from "../../src/crypto/kek/local-wrap.js";
import { deriveMessageKey, extractPrk } from "../../src/crypto/key-schedule.js";
import { sealSingle } from "../../src/crypto/message.js";
import { RandomPool } from "../../src/crypto/random.js";
import { DecryptionFailed, createKeyring, type Keyring } from "../../src/crypto/index.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { MemorySecrets, randomKeySecret } from "./helpers.js";

const seq = (start: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));
const MASTER = seq(0xa0, 32);
const KEK = seq(0x80, 32);
const DEK = seq(0x00, 32);
const SALT = seq(0x40, 32);
const NONCE = seq(0x60, 12);
const REF = { provider: "local" as const, keyId: "default", version: 1 };
const CONTEXT = { table: "users", column: "email", id: "42" };
const PLAINTEXT = "rampart rp1 known answer";

const MASTER_CHECK = "fb4a889eab0e39af1d8574d740240724";
const WRAPPED_KEK = "c0c1c2c3c4c5c6c7c8c9cacb38bdb81b3ea6968484187f25c6080bc5730fb505c233e113d48ef44b73e9371f920dc2b2440908c383a7b692db9693a9";
const WRAPPED_DEK = "d0d1d2d3d4d5d6d7d8d9dadba09aae519cb4387ea82282291d58de293be550172b1f0fe29ce940ce0758516716de6bcbb548da87b1deb0066689eae2";
const MESSAGE =
  "010100056c6f63616c000764656661756c7400000001003cd0d1d2d3d4d5d6d7d8d9dadba09aae519cb4387ea82282291d58de293be550172b1f0fe29ce940ce0758516716de6bcbb548da87b1deb0066689eae2404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6bf81f49c7cf647ff9df1a944ff297e8eea2e6c0a7c9745891c64a9af55b28b8451679a38f2f53b15326a2776bfe25b0cd5c98ffd9cb7498504789a8f790ce6206918b73545f5cc09c";
/** Written once by rp1 v1 and stored: must decrypt forever (local KEK v1 = KEK above, wrapped by MASTER). */
const STORED_VECTOR =
  "rp1:AQEABWxvY2FsAAdkZWZhdWx0AAAAAQA80NHS09TV1tfY2drboJquUZy0OH6oIoIpHVjeKTvlUBcrHw_inOlAzgdYUWcW3mvLtUjah7HesAZmieriQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamv4H0nHz2R_-d8alE_yl-juoubAp8l0WJHGSpr1Wyi4RRZ5o48vU7FTJqJ3a_4lsM1cmP_Zy3SYUEeJqPeQzmIGkYtzVF9cwJw";

describe("rp1 known answers", () => {
  it("local KEK wrapping of the KEK and of the DEK gives the pinned bytes", () => {
    expect(masterKeyCheck(MASTER)).toBe(MASTER_CHECK);
    expect(gcmWrap(masterWrappingKey(MASTER), KEK, kekWrapAad(REF), seq(0xc0, 12)).toString("hex")).toBe(WRAPPED_KEK);
    expect(gcmWrap(KEK, DEK, dekWrapAad(REF, SHARED_KEY_CONTEXT), seq(0xd0, 12)).toString("hex")).toBe(WRAPPED_DEK);
  });

  it("fixed DEK, salt and nonce give the pinned message bytes", () => {
    const keySection = encodeKeySection({ kind: "wrapped", ref: REF, wrapped: Buffer.from(WRAPPED_DEK, "hex") });
    const msg = sealSingle({ keySection, flags: 0, key: { salt: SALT, ...deriveMessageKey(extractPrk(DEK), SALT) }, plaintext: Buffer.from(PLAINTEXT), context: canonicalContext(CONTEXT), random: new RandomPool(), nonce: NONCE });
    expect(msg.toString("hex")).toBe(MESSAGE);
    expect(`rp1:${msg.toString("base64url")}`).toBe(STORED_VECTOR);
  });

  it("an independent implementation of the spec (WebCrypto) produces the same bytes", async () => {
    const subtle = webcrypto.subtle;
    const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
    const u16 = (n: number) => Buffer.from([n >>> 8, n & 255]);
    const wrapped = Buffer.from(WRAPPED_DEK, "hex");
    // Header: version, suite, flags, key section (provider, key id, KEK version, wrapped DEK), salt, nonce, commitment.
    const keySection = Buffer.concat([Buffer.of(5), Buffer.from("local"), u16(7), Buffer.from("default"), u32(1), u16(wrapped.length), wrapped]);
    // HKDF-SHA-512, extract salt "rampart rp1 dek", info "rampart rp1 key" ‖ 0x01 ‖ 0x01 ‖ message salt, 64 bytes.
    const ikm = await subtle.importKey("raw", DEK, "HKDF", false, ["deriveBits"]);
    const info = Buffer.concat([Buffer.from("rampart rp1 key"), Buffer.of(1, 1), SALT]);
    const okm = Buffer.from(await subtle.deriveBits({ name: "HKDF", hash: "SHA-512", salt: Buffer.from("rampart rp1 dek"), info }, ikm, 512));
    const commitment = okm.subarray(32);
    // Context: u32 count, then sorted entries, each u32 length-prefixed key and value.
    const entries = Object.entries(CONTEXT).sort(([a], [b]) => (a < b ? -1 : 1));
    const ctx = Buffer.concat([u32(entries.length), ...entries.flatMap(([k, v]) => [u32(Buffer.byteLength(k)), Buffer.from(k), u32(Buffer.byteLength(v)), Buffer.from(v)])]);
    const aad = Buffer.concat([Buffer.of(1, 1, 0), SALT, NONCE, commitment, ctx]);
    const key = await subtle.importKey("raw", okm.subarray(0, 32), "AES-GCM", false, ["encrypt"]);
    const body = Buffer.from(await subtle.encrypt({ name: "AES-GCM", iv: NONCE, additionalData: aad, tagLength: 128 }, key, Buffer.from(PLAINTEXT)));
    const expected = Buffer.concat([Buffer.of(1, 1, 0), keySection, SALT, NONCE, commitment, body]);
    expect(expected.toString("hex")).toBe(MESSAGE);
  });

  describe("a stored vector keeps decrypting through the keyring", () => {
    let env: TestEnv;
    let rt: TestRuntime;
    let keyring: Keyring;

    beforeAll(async () => {
      env = await createTestEnv("embedded");
      rt = await createTestRuntime(env);
      await rt.runtime.db.kysely
        .insertInto("rampart_kek_versions")
        .values({ provider: "local", key_id: "default", version: 1, wrapped_key: Buffer.from(WRAPPED_KEK, "hex"), master_key_check: MASTER_CHECK })
        .execute();
      const secrets = new MemorySecrets({ "master-key": MASTER.toString("hex"), "blind-index-key": randomKeySecret() });
      keyring = await createKeyring({ config: rt.runtime.config, db: rt.runtime.db.kysely, secrets, log: rt.runtime.log });
    });
    afterAll(async () => {
      await keyring.close();
      await rt.runtime.close();
      await env.cleanup();
    });

    it("decrypts to the original plaintext with the original context", async () => {
      expect(await keyring.decryptString(STORED_VECTOR, CONTEXT)).toBe(PLAINTEXT);
    });

    it("and not with any other context", async () => {
      await expect(keyring.decrypt(STORED_VECTOR, { ...CONTEXT, id: "43" })).rejects.toBeInstanceOf(DecryptionFailed);
    });
  });
});
