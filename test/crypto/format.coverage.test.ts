/**
 * The rp1 header codec on the paths the encryption tests do not take: a header
 * whose data key is a subject key, an unframed header, and the refusals of a
 * key id of the wrong size, a key too long for its length field and a framed
 * header that declares frames of 0 bytes.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MalformedInput } from "../../src/crypto/bytes.js";
import { assembleHeader, COMMITMENT_BYTES, encodeFixed, encodeKeySection, FLAG_FRAMED, FLAG_SUBJECT, NONCE_BYTES, parseHeader, SALT_BYTES, SUBJECT_KEY_ID_BYTES } from "../../src/crypto/format.js";

const parts = () => ({ salt: randomBytes(SALT_BYTES), nonce: randomBytes(NONCE_BYTES), commitment: randomBytes(COMMITMENT_BYTES) });

describe("rp1 header codec", () => {
  it("a subject-key header, unframed, parses back to the same key id, salt, nonce and commitment", () => {
    const keyId = randomBytes(SUBJECT_KEY_ID_BYTES);
    const { salt, nonce, commitment } = parts();
    const section = encodeKeySection({ kind: "subject", keyId });
    expect(section.equals(keyId)).toBe(true);
    const header = parseHeader(assembleHeader(encodeFixed(FLAG_SUBJECT, 0, salt, nonce, commitment), section));
    expect(header.framed).toBe(false);
    expect(header.frameSize).toBe(0);
    expect(header.keySource).toEqual({ kind: "subject", keyId });
    expect([header.salt, header.nonce, header.commitment].map((b) => b.toString("hex"))).toEqual([salt, nonce, commitment].map((b) => b.toString("hex")));
  });

  it("refuses a subject key id that is not 16 bytes, and a wrapped key its 16-bit length cannot hold", () => {
    expect(() => encodeKeySection({ kind: "subject", keyId: randomBytes(SUBJECT_KEY_ID_BYTES - 1) })).toThrow(/subject key id must be 16 bytes/);
    const ref = { provider: "local", keyId: "master", version: 1 };
    expect(() => encodeKeySection({ kind: "wrapped", ref, wrapped: Buffer.alloc(0x10000) })).toThrow(/too long for rp1/);
    expect(() => encodeKeySection({ kind: "wrapped", ref: { ...ref, keyId: "k".repeat(0x10000) }, wrapped: Buffer.alloc(40) })).toThrow(/too long for rp1/);
  });

  it("a framed header declaring frames of 0 bytes is malformed", () => {
    const { salt, nonce, commitment } = parts();
    const section = encodeKeySection({ kind: "subject", keyId: randomBytes(SUBJECT_KEY_ID_BYTES) });
    const framed = assembleHeader(encodeFixed(FLAG_SUBJECT | FLAG_FRAMED, 4096, salt, nonce, commitment), section);
    expect(parseHeader(framed).frameSize).toBe(4096);
    const zero = assembleHeader(encodeFixed(FLAG_SUBJECT | FLAG_FRAMED, 0, salt, nonce, commitment), section);
    expect(() => parseHeader(zero)).toThrow(MalformedInput);
  });
});
