/** A FIFO of byte chunks that hands out exact-size slices without re-concatenating everything (linear in the stream size). */
export class ChunkQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.length += chunk.length;
  }

  /** Removes and returns the next `n` bytes (n <= length). */
  take(n: number): Buffer {
    if (n > this.length) throw new RangeError("not enough buffered bytes");
    this.length -= n;
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const k = Math.min(n - o, c.length - this.head);
      c.copy(out, o, this.head, this.head + k);
      o += k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }

  /** Everything buffered as one buffer, without consuming it. */
  peekAll(): Buffer {
    const all = Buffer.concat([this.chunks[0]?.subarray(this.head) ?? Buffer.alloc(0), ...this.chunks.slice(1)]);
    this.chunks = all.length > 0 ? [all] : [];
    this.head = 0;
    return all;
  }
}
