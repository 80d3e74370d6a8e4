/**
 * Framed rp1 messages for large payloads and streams. The header is the rp1
 * header with the framed flag and a frame size (64 KiB by default); the body
 * is a sequence of frames:
 *
 *   u8 final (0 or 1) ‖ u32 plaintext length ‖ ciphertext ‖ 16-byte tag
 *
 * Each frame is AES-256-GCM under the per-message key with
 *   IV  = base nonce XOR (0^4 ‖ u64 frame index)      (NIST SP 800-38D §8.2.1: a deterministic, never-repeating IV per key)
 *   AAD = authenticated header ‖ context ‖ u64 frame index ‖ u8 final
 * so a dropped, reordered or duplicated frame fails on its index, a cut-off
 * stream fails for lack of a final frame, and bytes after the final frame are
 * rejected. Non-final frames must be exactly the frame size.
 *
 * Streaming decryption releases each frame's plaintext once its tag verified;
 * a consumer must discard everything on error (or use the buffer helpers,
 * which are all-or-nothing).
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { ChunkQueue } from "./chunk-queue.js";
import { constantTimeEqual, MalformedInput } from "./bytes.js";
import { DecryptionFailed, KekUnavailableError } from "./errors.js";
import { assembleHeader, encodeFixed, FLAG_FRAMED, NONCE_BYTES, parseHeader, SALT_BYTES, TAG_BYTES, type Rp1Header } from "./format.js";
import { deriveMessageKey } from "./key-schedule.js";
import type { RandomPool } from "./random.js";

export const DEFAULT_FRAME_SIZE = 64 * 1024;
const MAX_FRAMES = 2 ** 32;
/** 16 MiB: a frame is buffered whole on both sides, so its size bounds memory per stream. */
const MAX_FRAME_SIZE = 16 * 1024 * 1024;

/**
 * The IV of frame `index`: the base nonce XOR (0^4 ‖ u64 index). A message
 * has at most 2^32 frames, so only the last four bytes change; past the last
 * index it throws, since each frame's IV must be unique under the message key.
 * Exported for its tests: no test can write 2^32 frames.
 */
export function frameIv(base: Buffer, index: number): Buffer {
  if (index >= MAX_FRAMES) throw new RangeError("framed message exceeds 2^32 frames");
  const iv = Buffer.from(base);
  iv.writeUInt32BE((iv.readUInt32BE(8) ^ index) >>> 0, 8);
  return iv;
}

function frameSuffix(index: number, final: boolean): Buffer {
  const s = Buffer.allocUnsafe(9);
  s.writeUInt32BE(Math.floor(index / 2 ** 32), 0);
  s.writeUInt32BE(index >>> 0, 4);
  s[8] = final ? 1 : 0;
  return s;
}

export interface FramedSealOptions {
  keySection: Buffer;
  /** FLAG_SUBJECT or 0; FLAG_FRAMED is added. */
  flags: number;
  /** A private copy of the DEK's PRK: zeroized here once the message key is derived. */
  prk: Buffer;
  context: Buffer;
  random: RandomPool;
  frameSize?: number;
}

/** Encrypts a byte stream into a framed rp1 message, yielding the header then one buffer per frame. */
export async function* sealFrames(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, o: FramedSealOptions): AsyncGenerator<Buffer> {
  const frameSize = o.frameSize ?? DEFAULT_FRAME_SIZE;
  if (!Number.isInteger(frameSize) || frameSize < 1 || frameSize > MAX_FRAME_SIZE) throw new RangeError(`frameSize must be an integer from 1 to ${MAX_FRAME_SIZE}, instead got ${frameSize}`);
  const salt = o.random.bytes(SALT_BYTES);
  const nonce = o.random.bytes(NONCE_BYTES);
  const { key, commitment } = deriveMessageKey(o.prk, salt);
  o.prk.fill(0);
  try {
    const fixed = encodeFixed(o.flags | FLAG_FRAMED, frameSize, salt, nonce, commitment);
    const aadPrefix = Buffer.concat([fixed, o.context]);
    const seal = (index: number, final: boolean, pt: Buffer): Buffer => {
      const out = Buffer.allocUnsafe(5 + pt.length + TAG_BYTES);
      out[0] = final ? 1 : 0;
      out.writeUInt32BE(pt.length, 1);
      const c = createCipheriv("aes-256-gcm", key, frameIv(nonce, index), { authTagLength: TAG_BYTES });
      c.setAAD(aadPrefix);
      c.setAAD(frameSuffix(index, final));
      const ct = c.update(pt);
      ct.copy(out, 5);
      c.final();
      c.getAuthTag().copy(out, 5 + ct.length);
      return out;
    };
    yield assembleHeader(fixed, o.keySection);
    const q = new ChunkQueue();
    let index = 0;
    for await (const chunk of source) {
      q.push(chunk);
      // Keep at least one byte back: only the end of the input decides which frame is final.
      while (q.length > frameSize) yield seal(index++, false, q.take(frameSize));
    }
    yield seal(index, true, q.take(q.length));
  } finally {
    key.fill(0);
  }
}

/** Resolves the DEK's PRK for a parsed header; returns a copy the caller may zeroize. Rejects with DecryptionFailed. */
export type DekResolver = (header: Rp1Header) => Promise<Buffer>;

/** Decrypts a framed rp1 stream, yielding plaintext per verified frame. Every failure is DecryptionFailed. */
export async function* openFrames(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, context: Buffer, resolveDek: DekResolver): AsyncGenerator<Buffer> {
  const it = (Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()) as AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  const q = new ChunkQueue();
  const pull = async (): Promise<boolean> => {
    const r = await it.next();
    if (r.done) return false;
    q.push(r.value);
    return true;
  };
  const fill = async (n: number): Promise<void> => {
    while (q.length < n) if (!(await pull())) throw new DecryptionFailed();
  };
  let key: Buffer | undefined;
  try {
    let header: Rp1Header | undefined;
    while (header === undefined) {
      // Reading is bounded without a limit of its own: every length in a header is a u8 or u16, so a
      // header is at most 131,417 bytes, and a parse can only be "truncated" with fewer buffered.
      try {
        header = parseHeader(q.peekAll());
      } catch (err) {
        if (!(err instanceof MalformedInput) || err.message !== "truncated" || !(await pull())) throw new DecryptionFailed();
      }
    }
    // A forged frame size must not make us buffer gigabytes before the first tag check.
    if (!header.framed || header.frameSize > MAX_FRAME_SIZE) throw new DecryptionFailed();
    q.take(header.bodyStart);
    const prk = await resolveDek(header);
    const derived = deriveMessageKey(prk, header.salt);
    prk.fill(0);
    key = derived.key;
    if (!constantTimeEqual(derived.commitment, header.commitment)) throw new DecryptionFailed();
    const aadPrefix = Buffer.concat([...header.fixed, context]);
    // The frame count is bounded by frameIv, which throws past 2^32 frames (DecryptionFailed below).
    for (let index = 0; ; index++) {
      await fill(5);
      const head = q.take(5);
      const flag = head[0];
      const len = head.readUInt32BE(1);
      if ((flag !== 0 && flag !== 1) || len > header.frameSize || (flag === 0 && len !== header.frameSize)) throw new DecryptionFailed();
      await fill(len + TAG_BYTES);
      const body = q.take(len + TAG_BYTES);
      const d = createDecipheriv("aes-256-gcm", key, frameIv(header.nonce, index), { authTagLength: TAG_BYTES });
      d.setAAD(aadPrefix);
      d.setAAD(frameSuffix(index, flag === 1));
      d.setAuthTag(body.subarray(len));
      const pt = d.update(body.subarray(0, len));
      d.final();
      if (flag === 1) {
        // Nothing may follow the final frame.
        while (q.length === 0 && (await pull()));
        if (q.length > 0) throw new DecryptionFailed();
        if (pt.length > 0) yield pt;
        return;
      }
      yield pt;
    }
  } catch (err) {
    if (err instanceof DecryptionFailed || err instanceof KekUnavailableError) throw err;
    throw new DecryptionFailed();
  } finally {
    key?.fill(0);
  }
}
