/**
 * The rp1 codec, single messages, frames and message keys
 * (src/crypto/format.ts, message.ts, frames.ts, message-keys.ts) called
 * directly, without a keyring, runtime or database. Every expected value is
 * built here by hand from the format description (header layout, RFC 5869
 * HKDF-SHA-512 through node:crypto's hkdfSync, AES-256-GCM through
 * node:crypto, RFC 4648 base64url worked out bit by bit), never taken from the
 * code under test. Crafted messages carry valid GCM tags where a structural
 * check is under test, so that only that check can refuse them.
 */
import { createCipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import type * as NodeCrypto from "node:crypto";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { describe, expect, it, vi } from "vitest";
import { MalformedInput } from "../../src/crypto/bytes.js";
import { DecryptionFailed, KekUnavailableError } from "../../src/crypto/errors.js";
import { assembleHeader, encodeFixed, encodeKeySection, fromText, parseHeader, replaceKeySection, toText, type Rp1Header } from "../../src/crypto/format.js";
import { DEFAULT_FRAME_SIZE, frameIv, openFrames, sealFrames, type DekResolver } from "../../src/crypto/frames.js";
import { MESSAGES_PER_SALT, MessageKeys, OPEN_CACHE_SIZE } from "../../src/crypto/message-keys.js";
import { openSingle, sealSingle } from "../../src/crypto/message.js";
import { RandomPool } from "../../src/crypto/random.js";
import type { KekRef } from "../../src/crypto/kek/types.js";

const MiB = 1024 * 1024;
const CONTEXT = Buffer.from("rampart|users|email|42", "utf8");

// ---------------------------------------------------------------------------------------------
// Independent reference of the format (the module header comments and key-schedule.ts's RFC 5869 description)

const u16 = (n: number): Buffer => Buffer.of(n >>> 8, n & 0xff);
const u32 = (n: number): Buffer => Buffer.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
/** `n` bytes counting up from `start` (mod 256): what CountingRandom hands out. */
const seq = (start: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));
const isZero = (b: Buffer): boolean => b.every((x) => x === 0);

/** HKDF-Extract(salt = "rampart rp1 dek", IKM = DEK) with SHA-512. */
const refPrk = (dek: Buffer): Buffer => createHmac("sha512", Buffer.from("rampart rp1 dek", "ascii")).update(dek).digest();

/** Full RFC 5869 HKDF (extract and expand) by node:crypto: message key ‖ commitment for a message salt. */
function refKey(dek: Buffer, salt: Buffer): { key: Buffer; commitment: Buffer } {
  const info = Buffer.concat([Buffer.from("rampart rp1 key", "ascii"), Buffer.of(0x01, 0x01), salt]);
  const okm = Buffer.from(hkdfSync("sha512", dek, Buffer.from("rampart rp1 dek", "ascii"), info, 64));
  return { key: okm.subarray(0, 32), commitment: okm.subarray(32, 64) };
}

/** u8 len ‖ provider ‖ u16 len ‖ key id ‖ u32 KEK version ‖ u16 len ‖ wrapped DEK. */
const refWrappedSection = (provider: Buffer, keyId: Buffer, version: number, wrapped: Buffer): Buffer =>
  Buffer.concat([Buffer.of(provider.length), provider, u16(keyId.length), keyId, u32(version), u16(wrapped.length), wrapped]);

interface RefSingle {
  dek: Buffer;
  flags: number;
  keySection: Buffer;
  salt: Buffer;
  nonce: Buffer;
  plaintext: Buffer;
  context: Buffer;
  /** Written after the flags and authenticated (a framed header's frame size). */
  frameSizeField?: Buffer;
}

/** version ‖ suite ‖ flags ‖ key section ‖ salt ‖ nonce ‖ commitment ‖ AES-256-GCM(AAD = the header without the key section ‖ context) ‖ tag. */
function refSingle(o: RefSingle): Buffer {
  const { key, commitment } = refKey(o.dek, o.salt);
  const first = Buffer.of(0x01, 0x01, o.flags);
  const rest = Buffer.concat([o.frameSizeField ?? Buffer.alloc(0), o.salt, o.nonce, commitment]);
  const c = createCipheriv("aes-256-gcm", key, o.nonce);
  c.setAAD(Buffer.concat([first, rest, o.context]));
  const ct = Buffer.concat([c.update(o.plaintext), c.final()]);
  return Buffer.concat([first, o.keySection, rest, ct, c.getAuthTag()]);
}

interface RefFrame {
  /** The flag byte written. */
  flag: number;
  plaintext: Buffer;
  /** The final bit in the AAD (default: flag === 1). */
  final?: boolean;
  /** The frame index in the IV and AAD (default: its position). */
  index?: number;
}

interface RefFramed {
  dek: Buffer;
  flags?: number;
  keySection: Buffer;
  frameSize: number;
  salt: Buffer;
  nonce: Buffer;
  context: Buffer;
  frames: RefFrame[];
  /** A commitment other than the derived one, itself authenticated. */
  commitment?: Buffer;
}

/**
 * A framed message: header, then per frame u8 flag ‖ u32 length ‖ ciphertext ‖ tag with
 * IV = nonce XOR (0^4 ‖ u64 index) and AAD = version ‖ suite ‖ flags ‖ frame size ‖ salt ‖ nonce ‖ commitment ‖ context ‖ u64 index ‖ u8 final.
 */
function refFramed(o: RefFramed): { header: Buffer; frames: Buffer[] } {
  const derived = refKey(o.dek, o.salt);
  const first = Buffer.of(0x01, 0x01, (o.flags ?? 0) | 0x01);
  const rest = Buffer.concat([u32(o.frameSize), o.salt, o.nonce, o.commitment ?? derived.commitment]);
  const frames = o.frames.map((f, position) => {
    const index = u64(f.index ?? position);
    const iv = Buffer.from(o.nonce);
    for (let j = 0; j < 8; j++) iv[4 + j] = iv[4 + j]! ^ index[j]!;
    const c = createCipheriv("aes-256-gcm", derived.key, iv);
    c.setAAD(Buffer.concat([first, rest, o.context, index, Buffer.of((f.final ?? f.flag === 1) ? 1 : 0)]));
    const ct = Buffer.concat([c.update(f.plaintext), c.final()]);
    return Buffer.concat([Buffer.of(f.flag), u32(f.plaintext.length), ct, c.getAuthTag()]);
  });
  return { header: Buffer.concat([first, o.keySection, rest]), frames };
}

/** The rule of frames.ts: non-final frames hold exactly frameSize bytes, the final one the rest (at least one byte unless the input is empty). */
function refSplit(plaintext: Buffer, frameSize: number): RefFrame[] {
  const frames: RefFrame[] = [];
  let o = 0;
  while (plaintext.length - o > frameSize) {
    frames.push({ flag: 0, plaintext: plaintext.subarray(o, o + frameSize) });
    o += frameSize;
  }
  frames.push({ flag: 1, plaintext: plaintext.subarray(o) });
  return frames;
}

/** A RandomPool whose bytes count up 1, 2, 3 ... so salts and nonces are known in advance. */
class CountingRandom extends RandomPool {
  private next = 1;
  override fill(target: Buffer, at: number, n: number): void {
    for (let i = 0; i < n; i++) target[at + i] = this.next++ & 0xff;
  }
}

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of gen) out.push(b);
  return out;
}

async function* asAsync(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) {
    await Promise.resolve();
    yield c;
  }
}

/** Cuts a buffer into chunks of `n` bytes. */
const chunked = (b: Buffer, n: number): Buffer[] => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n));

/** Yields the chunks one by one, counting how many the consumer took. */
function counting(chunks: Buffer[]): { source: Iterable<Buffer>; pulled: () => number } {
  let pulled = 0;
  return {
    source: {
      *[Symbol.iterator]() {
        for (const c of chunks) {
          pulled++;
          yield c;
        }
      },
    },
    pulled: () => pulled,
  };
}

const nodeCrypto = createRequire(import.meta.url)("node:crypto") as typeof NodeCrypto;

/**
 * Runs `fn` while recording every key node:crypto's AES-GCM is created with (the module's live
 * ESM bindings follow the CommonJS object after syncBuiltinESMExports): the message keys of
 * frames.ts are internal, and this is how a test sees whether they were zeroized afterwards.
 */
async function recordingCipherKeys(fn: () => Promise<unknown>): Promise<Buffer[]> {
  const keys: Buffer[] = [];
  const { createCipheriv: cipher, createDecipheriv: decipher } = nodeCrypto;
  nodeCrypto.createCipheriv = ((...a: Parameters<typeof cipher>) => {
    keys.push(a[1] as Buffer);
    return cipher(...a);
  }) as typeof cipher;
  nodeCrypto.createDecipheriv = ((...a: Parameters<typeof decipher>) => {
    keys.push(a[1] as Buffer);
    return decipher(...a);
  }) as typeof decipher;
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    nodeCrypto.createCipheriv = cipher;
    nodeCrypto.createDecipheriv = decipher;
    syncBuiltinESMExports();
  }
  return keys;
}

const malformed = (fn: () => unknown, message: string): void => {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MalformedInput);
  expect((caught as Error).message).toBe(message);
};

const REF: KekRef = { provider: "local", keyId: "master-ключ", version: 7 };
const wrappedSection = (): Buffer => refWrappedSection(Buffer.from("local", "latin1"), Buffer.from("master-ключ", "utf8"), 7, seq(0xa0, 40));
const SALT = seq(0x10, 32);
const NONCE = seq(0x50, 12);
const COMMIT = seq(0x70, 32);

// ---------------------------------------------------------------------------------------------

describe("rp1 key sections", () => {
  it("a wrapped-key section is u8 len ‖ provider ‖ u16 len ‖ UTF-8 key id ‖ u32 KEK version ‖ u16 len ‖ wrapped key", () => {
    const wrapped = seq(0xa0, 40);
    const section = encodeKeySection({ kind: "wrapped", ref: REF, wrapped });
    expect(section.toString("hex")).toBe(wrappedSection().toString("hex"));
    // Byte by byte, for the fields whose width matters.
    expect([...section.subarray(0, 6)]).toEqual([5, 0x6c, 0x6f, 0x63, 0x61, 0x6c]);
    expect(section.readUInt16BE(6)).toBe(Buffer.byteLength("master-ключ", "utf8"));
    expect(section.length).toBe(1 + 5 + 2 + 15 + 4 + 2 + 40);
  });

  it("a provider name is written one byte per character", () => {
    expect([...encodeKeySection({ kind: "wrapped", ref: { ...REF, provider: "é" }, wrapped: Buffer.alloc(0) })].slice(0, 2)).toEqual([1, 0xe9]);
  });

  it("KEK versions 1 and 0x7fffffff and an empty key id and wrapped key are written as given", () => {
    const a = encodeKeySection({ kind: "wrapped", ref: { provider: "a", keyId: "", version: 0x7fffffff }, wrapped: Buffer.alloc(0) });
    expect(a.toString("hex")).toBe("01" + "61" + "0000" + "7fffffff" + "0000");
    const b = encodeKeySection({ kind: "wrapped", ref: { provider: "vault-transit", keyId: "k", version: 1 }, wrapped: Buffer.of(9) });
    expect(b.toString("hex")).toBe("0d" + Buffer.from("vault-transit").toString("hex") + "0001" + "6b" + "00000001" + "0001" + "09");
  });

  it("a key id and a wrapped key of 0xffff bytes fit; 0x10000 bytes do not, counted in UTF-8 bytes", () => {
    const longId = "k".repeat(0xffff);
    const s = encodeKeySection({ kind: "wrapped", ref: { ...REF, keyId: longId }, wrapped: Buffer.alloc(0xffff, 7) });
    expect(s.readUInt16BE(6)).toBe(0xffff);
    expect(s.readUInt16BE(6 + 2 + 0xffff + 4)).toBe(0xffff);
    expect(s.length).toBe(1 + 5 + 2 + 0xffff + 4 + 2 + 0xffff);
    const tooLong = /^KEK key id or wrapped key too long for rp1$/;
    expect(() => encodeKeySection({ kind: "wrapped", ref: { ...REF, keyId: "k".repeat(0x10000) }, wrapped: Buffer.alloc(1) })).toThrow(tooLong);
    // 0x8000 characters, 0x10000 bytes.
    expect(() => encodeKeySection({ kind: "wrapped", ref: { ...REF, keyId: "é".repeat(0x8000) }, wrapped: Buffer.alloc(1) })).toThrow(tooLong);
    expect(() => encodeKeySection({ kind: "wrapped", ref: REF, wrapped: Buffer.alloc(0x10000) })).toThrow(tooLong);
    expect(() => encodeKeySection({ kind: "wrapped", ref: REF, wrapped: Buffer.alloc(0x10000) })).toThrow(RangeError);
  });

  it("a subject-key section is the 16-byte key id itself, copied", () => {
    const keyId = seq(0x30, 16);
    const section = encodeKeySection({ kind: "subject", keyId });
    expect(section.toString("hex")).toBe(seq(0x30, 16).toString("hex"));
    keyId.fill(0);
    expect(section.toString("hex")).toBe(seq(0x30, 16).toString("hex"));
    for (const n of [0, 15, 17, 32]) {
      expect(() => encodeKeySection({ kind: "subject", keyId: Buffer.alloc(n) })).toThrow(RangeError);
      expect(() => encodeKeySection({ kind: "subject", keyId: Buffer.alloc(n) })).toThrow(/^subject key id must be 16 bytes$/);
    }
  });
});

describe("rp1 fixed part and header assembly", () => {
  it("encodeFixed writes version ‖ suite ‖ flags [‖ u32 frame size] ‖ salt ‖ nonce ‖ commitment", () => {
    for (const flags of [0, 2]) {
      const fixed = encodeFixed(flags, 4096, SALT, NONCE, COMMIT);
      expect(fixed.toString("hex")).toBe(Buffer.concat([Buffer.of(1, 1, flags), SALT, NONCE, COMMIT]).toString("hex"));
    }
    for (const flags of [1, 3]) {
      const fixed = encodeFixed(flags, 0x01020304, SALT, NONCE, COMMIT);
      expect(fixed.toString("hex")).toBe(Buffer.concat([Buffer.of(1, 1, flags, 1, 2, 3, 4), SALT, NONCE, COMMIT]).toString("hex"));
    }
  });

  it("assembleHeader puts the key section after the first three bytes", () => {
    const fixed = encodeFixed(1, 0x10000, SALT, NONCE, COMMIT);
    const ks = wrappedSection();
    expect(assembleHeader(fixed, ks).toString("hex")).toBe(Buffer.concat([Buffer.of(1, 1, 1), ks, u32(0x10000), SALT, NONCE, COMMIT]).toString("hex"));
  });
});

describe("parseHeader", () => {
  const wrappedHeader = (flags = 0, frameSize?: number): Buffer =>
    Buffer.concat([Buffer.of(1, 1, flags), wrappedSection(), frameSize === undefined ? Buffer.alloc(0) : u32(frameSize), SALT, NONCE, COMMIT]);

  it("reads an unframed wrapped-key header: every field, offset and slice", () => {
    const body = Buffer.from("body bytes");
    const msg = Buffer.concat([wrappedHeader(0), body]);
    const ksLength = wrappedSection().length;
    const h = parseHeader(msg);
    expect(h.flags).toBe(0);
    expect(h.framed).toBe(false);
    expect(h.frameSize).toBe(0);
    expect(h.keySource).toEqual({ kind: "wrapped", ref: REF, wrapped: seq(0xa0, 40) });
    expect(h.keySectionStart).toBe(3);
    expect(h.keySection.toString("hex")).toBe(wrappedSection().toString("hex"));
    expect(h.salt.toString("hex")).toBe(SALT.toString("hex"));
    expect(h.nonce.toString("hex")).toBe(NONCE.toString("hex"));
    expect(h.commitment.toString("hex")).toBe(COMMIT.toString("hex"));
    expect(h.fixed).toHaveLength(2);
    expect(h.fixed[0].toString("hex")).toBe("010100");
    expect(h.fixed[1].toString("hex")).toBe(Buffer.concat([SALT, NONCE, COMMIT]).toString("hex"));
    expect(h.bodyStart).toBe(3 + ksLength + 76);
    expect(msg.subarray(h.bodyStart).toString()).toBe("body bytes");
  });

  it("reads a framed wrapped-key header with its frame size inside the second fixed slice", () => {
    const h = parseHeader(wrappedHeader(1, 0x01020304));
    expect(h.flags).toBe(1);
    expect(h.framed).toBe(true);
    expect(h.frameSize).toBe(0x01020304);
    expect(h.keySource.kind).toBe("wrapped");
    expect(h.fixed[0].toString("hex")).toBe("010101");
    expect(h.fixed[1].toString("hex")).toBe(Buffer.concat([u32(0x01020304), SALT, NONCE, COMMIT]).toString("hex"));
    expect(h.bodyStart).toBe(3 + wrappedSection().length + 80);
  });

  it("reads subject-key headers, framed and not", () => {
    const keyId = seq(0xc0, 16);
    const unframed = parseHeader(Buffer.concat([Buffer.of(1, 1, 2), keyId, SALT, NONCE, COMMIT, Buffer.of(0xee)]));
    expect(unframed.flags).toBe(2);
    expect(unframed.framed).toBe(false);
    expect(unframed.keySource).toEqual({ kind: "subject", keyId: seq(0xc0, 16) });
    expect(unframed.keySection.toString("hex")).toBe(keyId.toString("hex"));
    expect(unframed.keySectionStart).toBe(3);
    expect(unframed.bodyStart).toBe(3 + 16 + 76);
    expect(unframed.fixed[1].toString("hex")).toBe(Buffer.concat([SALT, NONCE, COMMIT]).toString("hex"));
    const framed = parseHeader(Buffer.concat([Buffer.of(1, 1, 3), keyId, u32(1), SALT, NONCE, COMMIT]));
    expect(framed.framed).toBe(true);
    expect(framed.frameSize).toBe(1);
    expect(framed.keySource).toEqual({ kind: "subject", keyId: seq(0xc0, 16) });
    expect(framed.bodyStart).toBe(3 + 16 + 80);
  });

  it("refuses another version or suite", () => {
    for (const v of [0, 2, 0xff]) malformed(() => parseHeader(Buffer.concat([Buffer.of(v, 1, 0), wrappedSection(), SALT, NONCE, COMMIT])), "version");
    for (const s of [0, 2, 0xff]) malformed(() => parseHeader(Buffer.concat([Buffer.of(1, s, 0), wrappedSection(), SALT, NONCE, COMMIT])), "suite");
  });

  it("refuses every unknown flag bit, alone or beside known ones", () => {
    for (let bit = 2; bit < 8; bit++) {
      for (const known of [0, 1, 2, 3]) malformed(() => parseHeader(wrappedHeader((1 << bit) | known, 4096)), "flags");
    }
    for (const flags of [0, 1]) expect(parseHeader(wrappedHeader(flags, flags === 1 ? 4096 : undefined)).flags).toBe(flags);
  });

  it("refuses a framed header with frame size 0", () => {
    malformed(() => parseHeader(wrappedHeader(1, 0)), "frame size");
    expect(parseHeader(wrappedHeader(1, 0xffffffff)).frameSize).toBe(0xffffffff);
  });

  const withProvider = (provider: Buffer): Buffer =>
    Buffer.concat([Buffer.of(1, 1, 0), refWrappedSection(provider, Buffer.from("k"), 1, Buffer.of(1, 2)), SALT, NONCE, COMMIT]);

  it("accepts provider names of the registry's form and refuses others", () => {
    for (const name of ["a", "local", "aws-kms", "p11", "a" + "b".repeat(31)]) {
      expect(parseHeader(withProvider(Buffer.from(name, "latin1"))).keySource).toEqual({ kind: "wrapped", ref: { provider: name, keyId: "k", version: 1 }, wrapped: Buffer.of(1, 2) });
    }
    for (const name of ["", "Local", "1local", "-a", "lo cal", "lo_cal", "a" + "b".repeat(32)]) malformed(() => parseHeader(withProvider(Buffer.from(name, "latin1"))), "provider");
    // A byte with the high bit set is not a letter in any decoding.
    for (const bytes of [[0x6c, 0xef], [0xec], [0x6c, 0xc3, 0xa9]]) malformed(() => parseHeader(withProvider(Buffer.from(bytes))), "provider");
  });

  const withKeyId = (keyId: Buffer, version = 1): Buffer =>
    Buffer.concat([Buffer.of(1, 1, 0), refWrappedSection(Buffer.from("local"), keyId, version, Buffer.of(5)), SALT, NONCE, COMMIT]);

  it("accepts a key id only when its UTF-8 bytes round-trip exactly", () => {
    for (const id of ["", "k", "arn:aws:kms:eu-west-1:1:key/x", "ключ", "😀/ü"]) {
      const h = parseHeader(withKeyId(Buffer.from(id, "utf8")));
      expect(h.keySource).toEqual({ kind: "wrapped", ref: { provider: "local", keyId: id, version: 1 }, wrapped: Buffer.of(5) });
    }
    // Invalid UTF-8: a lone byte, a cut sequence (decodes to one U+FFFD of the same 3-byte length), an overlong form, an encoded surrogate.
    for (const bytes of [[0xff], [0x61, 0x80], [0xc3], [0xf0, 0x9f, 0x98], [0xc0, 0x80], [0xed, 0xa0, 0x80]]) malformed(() => parseHeader(withKeyId(Buffer.from(bytes))), "key id");
  });

  it("accepts KEK versions 1 to 0x7fffffff only", () => {
    for (const v of [1, 2, 0x7fffffff]) {
      const h = parseHeader(withKeyId(Buffer.from("k"), v));
      expect(h.keySource.kind === "wrapped" && h.keySource.ref.version).toBe(v);
    }
    for (const v of [0, 0x80000000, 0xffffffff]) malformed(() => parseHeader(withKeyId(Buffer.from("k"), v)), "KEK version");
  });

  it("refuses every truncation of a header", () => {
    for (const header of [wrappedHeader(0), wrappedHeader(1, 64), Buffer.concat([Buffer.of(1, 1, 2), seq(0, 16), SALT, NONCE, COMMIT])]) {
      for (let n = 0; n < header.length; n++) malformed(() => parseHeader(header.subarray(0, n)), "truncated");
      expect(parseHeader(header).bodyStart).toBe(header.length);
    }
  });
});

describe("rp1 text form", () => {
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

  it("is rp1: and unpadded base64url", () => {
    // fb ff = 111110 111111 1111(00): '-', '_', '8'.
    expect(toText(Buffer.of(0xfb, 0xff))).toBe("rp1:-_8");
    expect(toText(Buffer.of(0xfb, 0xff, 0xbf))).toBe("rp1:-_-_");
    expect(toText(Buffer.alloc(0))).toBe("rp1:");
    expect([...fromText("rp1:-_8")]).toEqual([0xfb, 0xff]);
    expect([...fromText("rp1:-_-_")]).toEqual([0xfb, 0xff, 0xbf]);
    expect(fromText("rp1:").length).toBe(0);
    for (let n = 0; n < 40; n++) {
      const b = randomBytes(n);
      expect(fromText(toText(b)).toString("hex")).toBe(b.toString("hex"));
    }
  });

  it("refuses text without the exact prefix", () => {
    for (const t of ["", "rp1", "RP1:AAAA", "rp2:AAAA", "rp1AAAA", " rp1:AAAA", "AAAArp1:", "rp0:rp1:"]) malformed(() => fromText(t), "prefix");
  });

  it("refuses characters outside base64url, padding and a length of 4k+1", () => {
    for (const body of ["AA==", "AAA=", "+/8A", "AA/A", "AA+A", "AA A", "AAA\n", "AA.A", "rp1:", "ÀAAA"]) malformed(() => fromText("rp1:" + body), "encoding");
    for (const body of ["A", "AAAAB", "AAAAAAAA_"]) malformed(() => fromText("rp1:" + body), "encoding");
  });

  it("requires the unused low bits of a partial group to be zero", () => {
    for (let i = 0; i < 64; i++) {
      const c = ALPHABET[i]!;
      // Two characters carry 12 bits, one byte: the low 4 bits of the second are unused.
      if (i % 16 === 0) expect([...fromText("rp1:A" + c)]).toEqual([i >> 4]);
      else malformed(() => fromText("rp1:A" + c), "encoding");
      // Three characters carry 18 bits, two bytes: the low 2 bits of the third are unused.
      if (i % 4 === 0) expect([...fromText("rp1:AA" + c)]).toEqual([0, i >> 2]);
      else malformed(() => fromText("rp1:AA" + c), "encoding");
      // A full group has no unused bits.
      expect([...fromText("rp1:AAA" + c)]).toEqual([0, 0, i]);
      expect([...fromText("rp1:AAAAAAA" + c)]).toEqual([0, 0, 0, 0, 0, i]);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("single messages", () => {
  const dek = seq(0xd0, 32);
  const wrapped = wrappedSection();

  const seal = (o: { flags?: number; keySection?: Buffer; plaintext?: Uint8Array; nonce?: Buffer; keys?: MessageKeys; random?: RandomPool }) => {
    const random = o.random ?? new CountingRandom();
    const keys = o.keys ?? new MessageKeys(refPrk(dek));
    const key = keys.forSealing(random);
    return sealSingle({ keySection: o.keySection ?? wrapped, flags: o.flags ?? 0, key, plaintext: o.plaintext ?? Buffer.from("hello rp1"), context: CONTEXT, random, ...(o.nonce ? { nonce: o.nonce } : {}) });
  };

  it("seals to exactly the reference bytes, with a given nonce", () => {
    const msg = seal({ nonce: NONCE });
    expect(msg.toString("hex")).toBe(refSingle({ dek, flags: 0, keySection: wrapped, salt: seq(1, 32), nonce: NONCE, plaintext: Buffer.from("hello rp1"), context: CONTEXT }).toString("hex"));
  });

  it("draws the nonce from the pool right after the salt when none is given", () => {
    const subject = seq(0x40, 16);
    const plaintext = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
    const msg = seal({ flags: 2, keySection: subject, plaintext });
    expect(msg.toString("hex")).toBe(refSingle({ dek, flags: 2, keySection: subject, salt: seq(1, 32), nonce: seq(33, 12), plaintext: Buffer.from(plaintext), context: CONTEXT }).toString("hex"));
  });

  it("an empty plaintext is header ‖ tag and opens to nothing", () => {
    const msg = seal({ plaintext: Buffer.alloc(0) });
    expect(msg.length).toBe(3 + wrapped.length + 76 + 16);
    expect(msg.toString("hex")).toBe(refSingle({ dek, flags: 0, keySection: wrapped, salt: seq(1, 32), nonce: seq(33, 12), plaintext: Buffer.alloc(0), context: CONTEXT }).toString("hex"));
    expect(openSingle(parseHeader(msg), msg, new MessageKeys(refPrk(dek)), CONTEXT).length).toBe(0);
  });

  it("does not zeroize the sealing key it was given", () => {
    const keys = new MessageKeys(refPrk(dek));
    const random = new CountingRandom();
    const key = keys.forSealing(random);
    const before = Buffer.from(key.key);
    sealSingle({ keySection: wrapped, flags: 0, key, plaintext: Buffer.from("x"), context: CONTEXT, random });
    expect(key.key.toString("hex")).toBe(before.toString("hex"));
    expect(key.key.toString("hex")).toBe(refKey(dek, seq(1, 32)).key.toString("hex"));
  });

  it("opens reference messages, wrapped-key and subject-key", () => {
    const keys = new MessageKeys(refPrk(dek));
    for (const [flags, ks] of [[0, wrapped], [2, seq(0x40, 16)]] as const) {
      const msg = refSingle({ dek, flags, keySection: ks, salt: randomBytes(32), nonce: randomBytes(12), plaintext: Buffer.from("payload ü"), context: CONTEXT });
      expect(openSingle(parseHeader(msg), msg, keys, CONTEXT).toString("utf8")).toBe("payload ü");
    }
  });

  it("every authenticated byte, the context and the key fail opening with DecryptionFailed", () => {
    const msg = refSingle({ dek, flags: 0, keySection: wrapped, salt: SALT, nonce: NONCE, plaintext: Buffer.from("sixteen+ bytes of text"), context: CONTEXT });
    const keys = new MessageKeys(refPrk(dek));
    const ksEnd = 3 + wrapped.length;
    // Salt, nonce, commitment, ciphertext, tag: every byte after the key section.
    for (let i = ksEnd; i < msg.length; i++) {
      const bad = Buffer.from(msg);
      bad[i] = bad[i]! ^ 0x01;
      expect(() => openSingle(parseHeader(bad), bad, keys, CONTEXT)).toThrow(DecryptionFailed);
    }
    // Version, suite and flags are checked by parseHeader; their bytes are still in the AAD.
    const header = parseHeader(msg);
    for (const first of [[2, 1, 0], [1, 2, 0], [1, 1, 2], [1, 1, 4]]) {
      const forged: Rp1Header = { ...header, fixed: [Buffer.from(first), header.fixed[1]] };
      expect(() => openSingle(forged, msg, keys, CONTEXT)).toThrow(DecryptionFailed);
    }
    expect(() => openSingle(header, msg, keys, Buffer.from("rampart|users|email|43"))).toThrow(DecryptionFailed);
    expect(() => openSingle(header, msg, keys, Buffer.alloc(0))).toThrow(DecryptionFailed);
    expect(() => openSingle(header, msg, new MessageKeys(refPrk(seq(0xd1, 32))), CONTEXT)).toThrow(DecryptionFailed);
    // A byte cut from or added to the body.
    expect(() => openSingle(header, msg.subarray(0, msg.length - 1), keys, CONTEXT)).toThrow(DecryptionFailed);
    expect(() => openSingle(header, Buffer.concat([msg, Buffer.of(0)]), keys, CONTEXT)).toThrow(DecryptionFailed);
    expect(openSingle(header, msg, keys, CONTEXT).toString()).toBe("sixteen+ bytes of text");
  });

  it("the key section is outside the AAD: a rewrapped key section opens the same message", () => {
    const msg = refSingle({ dek, flags: 0, keySection: wrapped, salt: SALT, nonce: NONCE, plaintext: Buffer.from("rewrap me"), context: CONTEXT });
    const header = parseHeader(msg);
    const rewrapped = refWrappedSection(Buffer.from("vault-transit"), Buffer.from("transit/rampart"), 9, seq(0x11, 57));
    const out = replaceKeySection(msg, header, rewrapped);
    expect(out.toString("hex")).toBe(Buffer.concat([msg.subarray(0, 3), rewrapped, msg.subarray(3 + wrapped.length)]).toString("hex"));
    const h2 = parseHeader(out);
    expect(h2.keySource).toEqual({ kind: "wrapped", ref: { provider: "vault-transit", keyId: "transit/rampart", version: 9 }, wrapped: seq(0x11, 57) });
    expect(openSingle(h2, out, new MessageKeys(refPrk(dek)), CONTEXT).toString()).toBe("rewrap me");
    // A shorter section, too.
    const shorter = refWrappedSection(Buffer.from("a"), Buffer.alloc(0), 1, Buffer.alloc(0));
    const out2 = replaceKeySection(out, h2, shorter);
    expect(out2.toString("hex")).toBe(Buffer.concat([msg.subarray(0, 3), shorter, msg.subarray(3 + wrapped.length)]).toString("hex"));
  });

  it("a body shorter than a tag is refused before any key is looked up", () => {
    const keys = new MessageKeys(refPrk(dek));
    const spy = vi.spyOn(keys, "forOpening");
    const { commitment } = refKey(dek, SALT);
    const header = Buffer.concat([Buffer.of(1, 1, 0), wrapped, SALT, NONCE, commitment]);
    for (let n = 0; n < 16; n++) {
      const msg = Buffer.concat([header, Buffer.alloc(n)]);
      expect(() => openSingle(parseHeader(msg), msg, keys, CONTEXT)).toThrow(DecryptionFailed);
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it("a framed header is refused even when its body would authenticate as a single message", () => {
    const msg = refSingle({ dek, flags: 1, frameSizeField: u32(4096), keySection: wrapped, salt: SALT, nonce: NONCE, plaintext: Buffer.from("not a single message"), context: CONTEXT });
    const header = parseHeader(msg);
    expect(header.framed).toBe(true);
    const keys = new MessageKeys(refPrk(dek));
    const spy = vi.spyOn(keys, "forOpening");
    expect(() => openSingle(header, msg, keys, CONTEXT)).toThrow(DecryptionFailed);
    expect(spy).not.toHaveBeenCalled();
    // The same bytes with the framed flag off open: only the flag refused them.
    const unframed: Rp1Header = { ...header, framed: false };
    expect(openSingle(unframed, msg, keys, CONTEXT).toString()).toBe("not a single message");
  });
});

// ---------------------------------------------------------------------------------------------

describe("message keys", () => {
  const dek = seq(0x90, 32);

  it("one salt serves exactly MESSAGES_PER_SALT messages, then a fresh salt; the old key is wiped", () => {
    expect(MESSAGES_PER_SALT).toBe(65536);
    const keys = new MessageKeys(refPrk(dek));
    const random = new CountingRandom();
    const first = keys.forSealing(random);
    expect(first.salt.toString("hex")).toBe(seq(1, 32).toString("hex"));
    const ref1 = refKey(dek, seq(1, 32));
    expect(first.key.toString("hex")).toBe(ref1.key.toString("hex"));
    expect(first.commitment.toString("hex")).toBe(ref1.commitment.toString("hex"));
    let same = true;
    for (let i = 1; i < MESSAGES_PER_SALT; i++) same &&= keys.forSealing(random) === first;
    expect(same).toBe(true);
    const second = keys.forSealing(random);
    expect(second).not.toBe(first);
    expect(second.salt.toString("hex")).toBe(seq(33, 32).toString("hex"));
    const ref2 = refKey(dek, seq(33, 32));
    expect(second.key.toString("hex")).toBe(ref2.key.toString("hex"));
    expect(second.commitment.toString("hex")).toBe(ref2.commitment.toString("hex"));
    expect(isZero(first.key) && isZero(first.commitment)).toBe(true);
    for (let i = 1; i < MESSAGES_PER_SALT; i++) same &&= keys.forSealing(random) === second;
    expect(same).toBe(true);
    expect(keys.forSealing(random).salt.toString("hex")).toBe(seq(65, 32).toString("hex"));
    expect(isZero(second.key)).toBe(true);
  });

  it("forOpening derives the key on a miss, caches it only after the commitment matched, and checks the commitment on a hit", () => {
    const keys = new MessageKeys(refPrk(dek));
    const ref = refKey(dek, SALT);
    const wrong = Buffer.from(ref.commitment);
    wrong[31] = wrong[31]! ^ 0x80;
    // A miss with a wrong commitment: refused, nothing cached.
    expect(() => keys.forOpening(SALT, wrong)).toThrow(DecryptionFailed);
    expect(() => keys.forOpening(SALT, ref.commitment.subarray(0, 31))).toThrow(DecryptionFailed);
    const key = keys.forOpening(SALT, ref.commitment);
    expect(key.toString("hex")).toBe(ref.key.toString("hex"));
    // A hit returns the cached key itself.
    expect(keys.forOpening(Buffer.from(SALT), Buffer.from(ref.commitment))).toBe(key);
    // A hit with a wrong commitment: refused, and the cached key stays usable.
    expect(() => keys.forOpening(SALT, wrong)).toThrow(DecryptionFailed);
    expect(() => keys.forOpening(SALT, Buffer.alloc(32))).toThrow(DecryptionFailed);
    expect(keys.forOpening(SALT, ref.commitment)).toBe(key);
    expect(key.toString("hex")).toBe(ref.key.toString("hex"));
  });

  it("the opening cache holds OPEN_CACHE_SIZE keys and evicts (and wipes) the oldest entered first", () => {
    expect(OPEN_CACHE_SIZE).toBe(32);
    const keys = new MessageKeys(refPrk(dek));
    const salts = Array.from({ length: OPEN_CACHE_SIZE + 2 }, (_, i) => seq(i * 7, 32));
    const refs = salts.map((s) => refKey(dek, s));
    const open = (i: number): Buffer => keys.forOpening(salts[i]!, refs[i]!.commitment);
    const held = salts.slice(0, OPEN_CACHE_SIZE).map((_, i) => open(i));
    // A hit does not refresh an entry: eviction follows insertion order.
    expect(open(0)).toBe(held[0]);
    held.forEach((k, i) => expect(k.toString("hex")).toBe(refs[i]!.key.toString("hex")));
    const k32 = open(OPEN_CACHE_SIZE);
    expect(isZero(held[0]!)).toBe(true);
    held.slice(1).forEach((k, i) => expect(k.toString("hex")).toBe(refs[i + 1]!.key.toString("hex")));
    for (let i = 1; i < OPEN_CACHE_SIZE; i++) expect(open(i)).toBe(held[i]);
    expect(open(OPEN_CACHE_SIZE)).toBe(k32);
    // The evicted salt is derived again (a new buffer), evicting the next oldest.
    const again = open(0);
    expect(again).not.toBe(held[0]);
    expect(again.toString("hex")).toBe(refs[0]!.key.toString("hex"));
    expect(isZero(held[1]!)).toBe(true);
    expect(held[2]!.toString("hex")).toBe(refs[2]!.key.toString("hex"));
  });

  it("destroy zeroizes the PRK, the sealing key and every opening key", () => {
    const prk = refPrk(dek);
    const keys = new MessageKeys(prk);
    expect(keys.prk).toBe(prk);
    const sealing = keys.forSealing(new CountingRandom());
    const opened = [SALT, seq(0x55, 32)].map((s) => keys.forOpening(s, refKey(dek, s).commitment));
    keys.destroy();
    expect(isZero(prk)).toBe(true);
    expect(isZero(sealing.key) && isZero(sealing.commitment)).toBe(true);
    expect(opened.every(isZero)).toBe(true);
    // Nothing cached survives: the zeroed PRK no longer derives the message's commitment.
    expect(() => keys.forOpening(SALT, refKey(dek, SALT).commitment)).toThrow(DecryptionFailed);
  });

  it("destroy of keys never used, or used for opening only, does not throw", () => {
    const unused = new MessageKeys(refPrk(dek));
    unused.destroy();
    expect(isZero(unused.prk)).toBe(true);
    const openOnly = new MessageKeys(refPrk(dek));
    const k = openOnly.forOpening(SALT, refKey(dek, SALT).commitment);
    openOnly.destroy();
    expect(isZero(k)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

describe("framed messages", () => {
  const dek = seq(0x20, 32);
  const ks = wrappedSection();

  /** Seals with a fresh CountingRandom: salt = 1..32, nonce = 33..44. */
  const seal = async (plaintext: Buffer | Buffer[], frameSize?: number, flags = 0, keySection = ks): Promise<Buffer[]> => {
    const prk = refPrk(dek);
    return collect(sealFrames(Array.isArray(plaintext) ? plaintext : [plaintext], { keySection, flags, prk, context: CONTEXT, random: new CountingRandom(), ...(frameSize === undefined ? {} : { frameSize }) }));
  };
  const reference = (plaintext: Buffer, frameSize: number, flags = 0, keySection = ks) =>
    refFramed({ dek, flags, keySection, frameSize, salt: seq(1, 32), nonce: seq(33, 12), context: CONTEXT, frames: refSplit(plaintext, frameSize) });

  const resolverFor = (d: Buffer) => {
    const given: Buffer[] = [];
    const headers: Rp1Header[] = [];
    const resolve: DekResolver = async (h) => {
      headers.push(h);
      const prk = refPrk(d);
      given.push(prk);
      return prk;
    };
    return { resolve, given, headers };
  };
  const open = (chunks: Iterable<Buffer> | AsyncIterable<Buffer>, resolve: DekResolver = resolverFor(dek).resolve, context: Buffer = CONTEXT) => collect(openFrames(chunks, context, resolve));
  const refused = async (chunks: Buffer[], resolve?: DekResolver, context?: Buffer): Promise<void> => {
    await expect(open(chunks, resolve, context)).rejects.toThrow(DecryptionFailed);
    await expect(open(asAsync(chunks), resolve, context)).rejects.toThrow(DecryptionFailed);
  };

  it("seals to exactly the reference header and frames, one yielded buffer each", async () => {
    const pt = randomBytes(2500);
    const out = await seal(pt, 1000);
    const ref = reference(pt, 1000);
    expect(out.map((b) => b.toString("hex"))).toEqual([ref.header, ...ref.frames].map((b) => b.toString("hex")));
    // Layout: final byte, u32 length, ciphertext, tag.
    expect(out.slice(1).map((f) => [f[0], f.readUInt32BE(1), f.length])).toEqual([
      [0, 1000, 1021],
      [0, 1000, 1021],
      [1, 500, 521],
    ]);
  });

  it("subject-key framed messages carry both flags", async () => {
    const subject = seq(0x77, 16);
    const pt = randomBytes(70);
    const out = await seal(pt, 64, 2, subject);
    const ref = reference(pt, 64, 2, subject);
    expect(out.map((b) => b.toString("hex"))).toEqual([ref.header, ...ref.frames].map((b) => b.toString("hex")));
    expect(out[0]![2]).toBe(3);
  });

  it("the default frame size is 64 KiB", async () => {
    expect(DEFAULT_FRAME_SIZE).toBe(65536);
    const pt = randomBytes(65536 + 10);
    const out = await seal(pt);
    const ref = reference(pt, 65536);
    expect(out.map((b) => b.toString("hex"))).toEqual([ref.header, ...ref.frames].map((b) => b.toString("hex")));
    expect(parseHeader(out[0]!).frameSize).toBe(65536);
  });

  it("input of exactly k frame sizes ends with a full final frame; empty input is one empty final frame", async () => {
    for (const k of [1, 2, 3]) {
      const pt = randomBytes(64 * k);
      const out = await seal(chunked(pt, 10), 64);
      const ref = reference(pt, 64);
      expect(out.map((b) => b.toString("hex"))).toEqual([ref.header, ...ref.frames].map((b) => b.toString("hex")));
      expect(out.slice(1).map((f) => [f[0], f.readUInt32BE(1)])).toEqual([...Array.from({ length: k - 1 }, () => [0, 64]), [1, 64]]);
    }
    const empty = await seal([], 64);
    expect(empty).toHaveLength(2);
    expect(empty[1]!.toString("hex")).toBe(reference(Buffer.alloc(0), 64).frames[0]!.toString("hex"));
    expect([empty[1]![0], empty[1]!.readUInt32BE(1), empty[1]!.length]).toEqual([1, 0, 21]);
    expect(await open(empty)).toEqual([]);
  });

  it("frame IVs and AADs carry the frame index past one byte (300 frames)", async () => {
    const pt = randomBytes(300);
    const out = await seal(chunked(pt, 7), 1);
    const ref = reference(pt, 1);
    expect(out).toHaveLength(301);
    expect(out.map((b) => b.toString("hex"))).toEqual([ref.header, ...ref.frames].map((b) => b.toString("hex")));
    expect(Buffer.concat(await open(chunked(Buffer.concat(out), 13))).toString("hex")).toBe(pt.toString("hex"));
  });

  it("a message has at most 2^32 frames: the last index gets its IV, the next one is refused", () => {
    const base = randomBytes(12);
    // IV = base XOR (0^4 ‖ u64 index), computed here with BigInt over the last 8 bytes.
    const expected = (index: number): string => {
      const iv = Buffer.from(base);
      iv.writeBigUInt64BE(iv.readBigUInt64BE(4) ^ BigInt(index), 4);
      return iv.toString("hex");
    };
    for (const index of [0, 1, 255, 2 ** 31, 2 ** 32 - 1]) expect(frameIv(base, index).toString("hex")).toBe(expected(index));
    expect(frameIv(base, 0)).not.toBe(base);
    for (const index of [2 ** 32, 2 ** 32 + 1, 2 ** 40]) expect(() => frameIv(base, index)).toThrow(new RangeError("framed message exceeds 2^32 frames"));
  });

  it("frame sizes from 1 to 16 MiB are accepted; 0, 16 MiB + 1 and non-integers are refused before anything is used", async () => {
    for (const frameSize of [1, 16 * MiB]) {
      const pt = randomBytes(5);
      const out = await seal(pt, frameSize);
      expect(parseHeader(out[0]!).frameSize).toBe(frameSize);
      expect(Buffer.concat(await open([Buffer.concat(out)])).toString("hex")).toBe(pt.toString("hex"));
    }
    for (const frameSize of [0, -1, 16 * MiB + 1, 1.5, Number.NaN]) {
      const prk = refPrk(dek);
      const random = new CountingRandom();
      const gen = sealFrames([Buffer.from("x")], { keySection: ks, flags: 0, prk, context: CONTEXT, random, frameSize });
      await expect(gen.next()).rejects.toThrow(new RangeError(`frameSize must be an integer from 1 to 16777216, instead got ${frameSize}`));
      expect(prk.toString("hex")).toBe(refPrk(dek).toString("hex"));
      expect(random.bytes(1)[0]).toBe(1);
    }
  });

  it("the PRK copy is zeroized once sealing starts and once opening derived the key", async () => {
    const prk = refPrk(dek);
    const gen = sealFrames([Buffer.from("abc")], { keySection: ks, flags: 0, prk, context: CONTEXT, random: new CountingRandom(), frameSize: 16 });
    const header = await gen.next();
    expect(header.done).toBe(false);
    expect(isZero(prk)).toBe(true);
    const rest = await collect(gen);
    const r = resolverFor(dek);
    expect(Buffer.concat(await open([header.value as Buffer, ...rest], r.resolve)).toString()).toBe("abc");
    expect(r.given).toHaveLength(1);
    expect(isZero(r.given[0]!)).toBe(true);
    expect(r.headers[0]!.keySource).toEqual({ kind: "wrapped", ref: REF, wrapped: seq(0xa0, 40) });
  });

  it("opens from arrays and async sources of any chunking, yielding one buffer per non-empty frame", async () => {
    const pt = randomBytes(250);
    const msg = Buffer.concat(await seal(pt, 100));
    for (const n of [1, 5, 21, 99, msg.length]) {
      for (const source of [chunked(msg, n), asAsync(chunked(msg, n))]) {
        const out = await open(source);
        expect(out.map((b) => b.toString("hex"))).toEqual([pt.subarray(0, 100), pt.subarray(100, 200), pt.subarray(200)].map((b) => b.toString("hex")));
      }
    }
    // Empty chunks anywhere are harmless, after the final frame too.
    const withEmpty = chunked(msg, 50).flatMap((c) => [Buffer.alloc(0), c]);
    expect(Buffer.concat(await open([...withEmpty, Buffer.alloc(0)])).toString("hex")).toBe(pt.toString("hex"));
  });

  it("opens a message with the largest possible header fed in small chunks", async () => {
    const big = refWrappedSection(Buffer.from("b".repeat(32)), Buffer.from("k".repeat(0xffff)), 0x7fffffff, Buffer.alloc(0xffff, 3));
    const pt = randomBytes(40);
    const ref = refFramed({ dek, keySection: big, frameSize: 32, salt: SALT, nonce: NONCE, context: CONTEXT, frames: refSplit(pt, 32) });
    const msg = Buffer.concat([ref.header, ...ref.frames]);
    expect(Buffer.concat(await open(chunked(msg, 4096))).toString("hex")).toBe(pt.toString("hex"));
    await refused(chunked(ref.header.subarray(0, ref.header.length - 1), 4096));
  });

  const pt3 = randomBytes(64 * 2 + 10);
  const base = () => refFramed({ dek, keySection: ks, frameSize: 64, salt: SALT, nonce: NONCE, context: CONTEXT, frames: refSplit(pt3, 64) });

  it("the reference message opens (the refusals below change one thing each)", async () => {
    const { header, frames } = base();
    expect(frames).toHaveLength(3);
    expect(Buffer.concat(await open([header, ...frames])).toString("hex")).toBe(pt3.toString("hex"));
  });

  it("dropped, reordered, duplicated and truncated frames fail", async () => {
    const { header, frames } = base();
    const [f0, f1, f2] = frames as [Buffer, Buffer, Buffer];
    for (const list of [[f1, f2], [f0, f2], [f0, f1], [f1, f0, f2], [f0, f0, f1, f2], [f0, f1, f1, f2], [f0, f1, f2, f2], []]) await refused([header, ...list]);
    const whole = Buffer.concat([header, f0, f1, f2]);
    for (const cut of [1, 5, 16, f2.length - 1, f2.length, f2.length + 1, f2.length + 20, whole.length - 1]) await refused([whole.subarray(0, whole.length - cut)]);
  });

  it("every byte of the header's authenticated part, the frames and the context is checked", async () => {
    const { header, frames } = base();
    const whole = Buffer.concat([header, ...frames]);
    const from = 3 + ks.length;
    for (let i = 0; i < whole.length; i++) {
      if (i >= 3 && i < from) continue;
      const bad = Buffer.from(whole);
      bad[i] = bad[i]! ^ 0x02;
      await expect(open([bad])).rejects.toThrow(DecryptionFailed);
    }
    await refused([whole], undefined, Buffer.from("other"));
    await refused([whole], resolverFor(seq(0x21, 32)).resolve);
  });

  it("a flag other than 0 and 1 fails, even with a valid tag", async () => {
    for (const flag of [2, 0x80, 0xff]) {
      const { header, frames } = refFramed({
        dek, keySection: ks, frameSize: 64, salt: SALT, nonce: NONCE, context: CONTEXT,
        frames: [{ flag, final: false, plaintext: pt3.subarray(0, 64) }, { flag: 1, plaintext: pt3.subarray(64, 70) }],
      });
      await refused([header, ...frames]);
    }
  });

  it("a non-final frame of the wrong length and a final frame longer than the frame size fail, even with valid tags", async () => {
    const frame = (flag: number, from: number, to: number): RefFrame => ({ flag, plaintext: pt3.subarray(from, to) });
    for (const list of [
      [frame(0, 0, 63), frame(1, 63, 70)],
      [frame(0, 0, 0), frame(1, 0, 10)],
      [frame(0, 0, 65), frame(1, 65, 70)],
      [frame(1, 0, 65)],
      [frame(0, 0, 64), frame(1, 64, 129)],
    ]) {
      const { header, frames } = refFramed({ dek, keySection: ks, frameSize: 64, salt: SALT, nonce: NONCE, context: CONTEXT, frames: list });
      await refused([header, ...frames]);
    }
    // A final frame of exactly the frame size, and a short one, are fine.
    const ok = refFramed({ dek, keySection: ks, frameSize: 64, salt: SALT, nonce: NONCE, context: CONTEXT, frames: [frame(0, 0, 64), frame(1, 64, 128)] });
    expect(Buffer.concat(await open([ok.header, ...ok.frames])).toString("hex")).toBe(pt3.subarray(0, 128).toString("hex"));
  });

  it("bytes after the final frame fail, in the same chunk or in a later one", async () => {
    const { header, frames } = base();
    const whole = Buffer.concat([header, ...frames]);
    await refused([Buffer.concat([whole, Buffer.of(0)])]);
    await refused([whole, Buffer.of(0)]);
    await refused([whole, Buffer.alloc(0), Buffer.alloc(0), Buffer.of(1)]);
    await refused([whole, frames[2]!]);
    // A second complete message appended.
    await refused([whole, whole]);
  });

  it("a frame size above 16 MiB fails before the DEK is resolved, even when every tag is valid; 16 MiB itself opens", async () => {
    for (const [frameSize, ok] of [[16 * MiB + 1, false], [0xffffffff, false], [16 * MiB, true]] as const) {
      const { header, frames } = refFramed({ dek, keySection: ks, frameSize, salt: SALT, nonce: NONCE, context: CONTEXT, frames: [{ flag: 1, plaintext: Buffer.from("small") }] });
      const r = resolverFor(dek);
      if (ok) expect(Buffer.concat(await open([header, ...frames], r.resolve)).toString()).toBe("small");
      else await refused([header, ...frames], r.resolve);
      expect(r.given).toHaveLength(ok ? 1 : 0);
    }
  });

  it("an unframed or malformed header fails before the DEK is resolved", async () => {
    const r = resolverFor(dek);
    const single = refSingle({ dek, flags: 0, keySection: ks, salt: SALT, nonce: NONCE, plaintext: Buffer.from("single"), context: CONTEXT });
    await refused([single], r.resolve);
    const { header, frames } = base();
    for (const [i, v] of [[0, 2], [1, 0], [2, 0x05], [3, 0]] as const) {
      const bad = Buffer.from(header);
      bad[i] = v;
      await refused([bad, ...frames], r.resolve);
    }
    await refused([], r.resolve);
    await refused([header.subarray(0, 10)], r.resolve);
    expect(r.given).toHaveLength(0);
  });

  it("a commitment that does not match the key fails, even with valid tags, and the PRK copy is still zeroized", async () => {
    const forged = Buffer.from(refKey(dek, SALT).commitment);
    forged[0] = forged[0]! ^ 1;
    const { header, frames } = refFramed({ dek, keySection: ks, frameSize: 64, salt: SALT, nonce: NONCE, context: CONTEXT, frames: refSplit(pt3, 64), commitment: forged });
    const r = resolverFor(dek);
    await refused([header, ...frames], r.resolve);
    expect(r.given).toHaveLength(2);
    expect(r.given.every(isZero)).toBe(true);
  });

  it("the resolver's KekUnavailableError and DecryptionFailed pass through unchanged; any other failure becomes DecryptionFailed", async () => {
    const { header, frames } = base();
    const chunks = [header, ...frames];
    const unavailable = new KekUnavailableError("vault sealed");
    await expect(open(chunks, () => Promise.reject(unavailable))).rejects.toBe(unavailable);
    const failed = new DecryptionFailed();
    await expect(open(chunks, () => Promise.reject(failed))).rejects.toBe(failed);
    const other = new Error("boom");
    const err = await open(chunks, () => Promise.reject(other)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecryptionFailed);
    expect(err).not.toBe(other);
    expect((err as Error).message).toBe("decryption failed");
  });

  it("a malformed header fails at once, without reading the rest of the stream", async () => {
    const { header, frames } = base();
    for (const [i, v] of [[0, 2], [1, 0], [2, 0x04], [3, 0], [3 + 1, 0x41]] as const) {
      const bad = Buffer.from(header);
      bad[i] = v;
      const c = counting([bad, ...frames, Buffer.alloc(100)]);
      await expect(open(c.source)).rejects.toThrow(DecryptionFailed);
      expect(c.pulled()).toBe(1);
    }
    // A truncated header is read on, chunk by chunk.
    const c = counting(chunked(Buffer.concat([header, ...frames]), 10));
    expect(Buffer.concat(await open(c.source)).toString("hex")).toBe(pt3.toString("hex"));
  });

  it("bytes after the final frame fail as soon as they are seen; the stream is read to its end only when nothing follows", async () => {
    const { header, frames } = base();
    const whole = Buffer.concat([header, ...frames]);
    const sameChunk = counting([Buffer.concat([whole, Buffer.of(0)]), Buffer.of(1), Buffer.of(2)]);
    await expect(open(sameChunk.source)).rejects.toThrow(DecryptionFailed);
    expect(sameChunk.pulled()).toBe(1);
    const laterChunk = counting([whole, Buffer.alloc(0), Buffer.of(0), Buffer.of(1), Buffer.of(2)]);
    await expect(open(laterChunk.source)).rejects.toThrow(DecryptionFailed);
    expect(laterChunk.pulled()).toBe(3);
    const clean = counting([whole, Buffer.alloc(0), Buffer.alloc(0)]);
    expect(Buffer.concat(await open(clean.source)).toString("hex")).toBe(pt3.toString("hex"));
    expect(clean.pulled()).toBe(3);
  });

  it("the message key is zeroized after sealing, after opening, on failure and when the consumer stops early", async () => {
    const pt = randomBytes(150);
    let msg = Buffer.alloc(0);
    const sealKeys = await recordingCipherKeys(async () => {
      msg = Buffer.concat(await seal(pt, 64));
    });
    expect(sealKeys).toHaveLength(3);
    expect(sealKeys.every(isZero)).toBe(true);
    const openKeys = await recordingCipherKeys(async () => {
      expect(Buffer.concat(await open([msg])).toString("hex")).toBe(pt.toString("hex"));
    });
    expect(openKeys).toHaveLength(3);
    expect(openKeys.every(isZero)).toBe(true);
    const bad = Buffer.from(msg);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    const failedKeys = await recordingCipherKeys(() => expect(open([bad])).rejects.toThrow(DecryptionFailed));
    expect(failedKeys).toHaveLength(3);
    expect(failedKeys.every(isZero)).toBe(true);
    const earlyKeys = await recordingCipherKeys(async () => {
      const gen = sealFrames([pt], { keySection: ks, flags: 0, prk: refPrk(dek), context: CONTEXT, random: new CountingRandom(), frameSize: 64 });
      for await (const chunk of gen) if (chunk[0] === 0) break;
      const reader = openFrames([msg], CONTEXT, resolverFor(dek).resolve);
      await reader.next();
      await reader.return(undefined);
    });
    expect(earlyKeys).toHaveLength(2);
    expect(earlyKeys.every(isZero)).toBe(true);
  });

  it("a source that throws fails with DecryptionFailed", async () => {
    const { header } = base();
    async function* broken(): AsyncGenerator<Buffer> {
      yield header;
      throw new Error("socket reset");
    }
    await expect(open(broken())).rejects.toThrow(DecryptionFailed);
  });
});
