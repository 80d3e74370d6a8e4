/**
 * Byte helpers shared by the format code: a bounds-checked reader and writer
 * for the binary rp1 header, constant-time comparison and zeroization.
 */
import { timingSafeEqual } from "node:crypto";

/** Thrown by ByteReader on any out-of-bounds read; the caller maps it to DecryptionFailed. */
export class MalformedInput extends Error {
  override readonly name = "MalformedInput";
}

/** Reads big-endian fields from a buffer, failing on truncation. */
export class ByteReader {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new MalformedInput("truncated");
  }
  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  rest(): Buffer {
    const v = this.buf.subarray(this.offset);
    this.offset = this.buf.length;
    return v;
  }
}

/** Constant-time equality of two byte strings (lengths are public). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Overwrites key material before dropping it, so it does not linger in the heap. */
export function zeroize(buf: Buffer | undefined): void {
  buf?.fill(0);
}

/** A Buffer view over bytes from the database: `pg` gives Buffer, PGlite Uint8Array. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
