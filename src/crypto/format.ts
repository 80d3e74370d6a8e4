/**
 * The rp1 message format: versioned and self-describing, so stored data can
 * outlive any key or algorithm change (STYLE §9).
 *
 *   u8  version       0x01
 *   u8  suite         0x01 = AES-256-GCM, HKDF-SHA-512 per-message key, 256-bit commitment
 *   u8  flags         bit0 framed, bit1 subject key; other bits must be zero
 *   key section       subject key: 16-byte subject key id
 *                     wrapped DEK: u8 len ‖ provider ‖ u16 len ‖ key id ‖ u32 KEK version ‖ u16 len ‖ wrapped DEK
 *   [u32 frame size]  framed messages only
 *   32  salt          random message salt, input to HKDF-Expand: a fresh key per message (key-schedule.ts)
 *   12  nonce         GCM IV (framed: base IV, XORed with the frame index)
 *   32  commitment    HKDF output next to the message key, checked before decrypting
 *   body              single: ciphertext ‖ 16-byte tag; framed: see frames.ts
 *
 * The key section is deliberately NOT part of the additional authenticated
 * data: rotation rewraps the DEK in stored headers without touching payloads
 * (Vault's rewrap breaks on ciphertexts with associated data; ours does not).
 * It is still bound: a different DEK derives a different commitment, and the
 * KEK authenticates the wrapped DEK with its own context.
 */
import { MalformedInput, ByteReader } from "./bytes.js";
import { isKekProviderName, type KekRef } from "./kek/types.js";

export const RP1_VERSION = 0x01;
export const SUITE_AES256GCM_HKDF_SHA512_COMMIT = 0x01;
export const FLAG_FRAMED = 0x01;
export const FLAG_SUBJECT = 0x02;
export const SALT_BYTES = 32;
export const NONCE_BYTES = 12;
export const COMMITMENT_BYTES = 32;
export const TAG_BYTES = 16;
export const SUBJECT_KEY_ID_BYTES = 16;
export const TEXT_PREFIX = "rp1:";

export type KeySource = { readonly kind: "wrapped"; readonly ref: KekRef; readonly wrapped: Buffer } | { readonly kind: "subject"; readonly keyId: Buffer };

export interface Rp1Header {
  readonly flags: number;
  readonly framed: boolean;
  readonly frameSize: number;
  readonly keySource: KeySource;
  /** The raw key section bytes (cache key for the unwrapped DEK). */
  readonly keySection: Buffer;
  readonly keySectionStart: number;
  readonly salt: Buffer;
  readonly nonce: Buffer;
  readonly commitment: Buffer;
  /** The authenticated header in two slices (no copy): version ‖ suite ‖ flags, then [frame size] ‖ salt ‖ nonce ‖ commitment. */
  readonly fixed: readonly [Buffer, Buffer];
  /** Offset of the body. */
  readonly bodyStart: number;
}

export function encodeKeySection(source: KeySource): Buffer {
  if (source.kind === "subject") {
    if (source.keyId.length !== SUBJECT_KEY_ID_BYTES) throw new RangeError("subject key id must be 16 bytes");
    return Buffer.from(source.keyId);
  }
  const provider = Buffer.from(source.ref.provider, "ascii");
  const keyId = Buffer.from(source.ref.keyId, "utf8");
  if (keyId.length > 0xffff || source.wrapped.length > 0xffff) throw new RangeError("KEK key id or wrapped key too long for rp1");
  const out = Buffer.allocUnsafe(1 + provider.length + 2 + keyId.length + 4 + 2 + source.wrapped.length);
  let o = out.writeUInt8(provider.length, 0);
  o += provider.copy(out, o);
  o = out.writeUInt16BE(keyId.length, o);
  o += keyId.copy(out, o);
  o = out.writeUInt32BE(source.ref.version, o);
  o = out.writeUInt16BE(source.wrapped.length, o);
  source.wrapped.copy(out, o);
  return out;
}

/** The authenticated fixed part of a header. */
export function encodeFixed(flags: number, frameSize: number, salt: Buffer, nonce: Buffer, commitment: Buffer): Buffer {
  const framed = (flags & FLAG_FRAMED) !== 0;
  const out = Buffer.allocUnsafe(3 + (framed ? 4 : 0) + SALT_BYTES + NONCE_BYTES + COMMITMENT_BYTES);
  out[0] = RP1_VERSION;
  out[1] = SUITE_AES256GCM_HKDF_SHA512_COMMIT;
  out[2] = flags;
  let o = 3;
  if (framed) o = out.writeUInt32BE(frameSize, o);
  o += salt.copy(out, o);
  o += nonce.copy(out, o);
  commitment.copy(out, o);
  return out;
}

/** Header bytes in wire order: the first 3 fixed bytes, the key section, the rest of the fixed part. */
export function assembleHeader(fixed: Buffer, keySection: Buffer): Buffer {
  return Buffer.concat([fixed.subarray(0, 3), keySection, fixed.subarray(3)]);
}

function parseKeySection(r: ByteReader, subject: boolean): KeySource {
  if (subject) return { kind: "subject", keyId: r.bytes(SUBJECT_KEY_ID_BYTES) };
  // latin1 maps bytes 1:1 (Node's "ascii" would drop the high bit, letting a changed byte decode to the same name).
  const provider = r.bytes(r.u8()).toString("latin1");
  // Only the name's form is checked here; the keyring's provider refuses a name that is not its own.
  if (!isKekProviderName(provider)) throw new MalformedInput("provider");
  const keyIdBytes = r.bytes(r.u16());
  const keyId = keyIdBytes.toString("utf8");
  // Invalid UTF-8 decodes to U+FFFD, so distinct bytes could name the same key: require an exact round trip.
  if (Buffer.byteLength(keyId, "utf8") !== keyIdBytes.length || !Buffer.from(keyId, "utf8").equals(keyIdBytes)) throw new MalformedInput("key id");
  const version = r.u32();
  // Versions are positive database integers.
  if (version < 1 || version > 0x7fffffff) throw new MalformedInput("KEK version");
  const wrapped = r.bytes(r.u16());
  return { kind: "wrapped", ref: { provider, keyId, version }, wrapped };
}

/** Parses and validates an rp1 header; throws MalformedInput on anything unexpected. */
export function parseHeader(buf: Buffer): Rp1Header {
  const r = new ByteReader(buf);
  if (r.u8() !== RP1_VERSION) throw new MalformedInput("version");
  if (r.u8() !== SUITE_AES256GCM_HKDF_SHA512_COMMIT) throw new MalformedInput("suite");
  const flags = r.u8();
  if ((flags & ~(FLAG_FRAMED | FLAG_SUBJECT)) !== 0) throw new MalformedInput("flags");
  const framed = (flags & FLAG_FRAMED) !== 0;
  const keySectionStart = r.offset;
  const keySource = parseKeySection(r, (flags & FLAG_SUBJECT) !== 0);
  const keySection = buf.subarray(keySectionStart, r.offset);
  const fixedStart = r.offset;
  const frameSize = framed ? r.u32() : 0;
  if (framed && frameSize === 0) throw new MalformedInput("frame size");
  const salt = r.bytes(SALT_BYTES);
  const nonce = r.bytes(NONCE_BYTES);
  const commitment = r.bytes(COMMITMENT_BYTES);
  const fixed = [buf.subarray(0, 3), buf.subarray(fixedStart, r.offset)] as const;
  return { flags, framed, frameSize, keySource, keySection, keySectionStart, salt, nonce, commitment, fixed, bodyStart: r.offset };
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Text form for columns: `rp1:` + base64url (RFC 4648 §5, no padding). */
export function toText(message: Buffer): string {
  return TEXT_PREFIX + message.toString("base64url");
}

/**
 * Strict inverse of toText. Node's base64 decoder skips invalid characters and
 * ignores non-zero trailing bits, so both are rejected first: a changed
 * character can never decode to the same message.
 */
export function fromText(text: string): Buffer {
  if (!text.startsWith(TEXT_PREFIX)) throw new MalformedInput("prefix");
  const body = text.slice(TEXT_PREFIX.length);
  if (!BASE64URL.test(body) || body.length % 4 === 1) throw new MalformedInput("encoding");
  // The last character of a partial group carries unused low bits, which must be zero (RFC 4648 §3.5).
  const spare = body.length % 4 === 2 ? 0x0f : body.length % 4 === 3 ? 0x03 : 0;
  if (spare !== 0 && (ALPHABET.indexOf(body[body.length - 1]!) & spare) !== 0) throw new MalformedInput("encoding");
  return Buffer.from(body, "base64url");
}

/** Replaces the key section of a message (rewrap), leaving every authenticated byte as it was. */
export function replaceKeySection(message: Buffer, header: Rp1Header, keySection: Buffer): Buffer {
  return Buffer.concat([message.subarray(0, header.keySectionStart), keySection, message.subarray(header.keySectionStart + header.keySection.length)]);
}
