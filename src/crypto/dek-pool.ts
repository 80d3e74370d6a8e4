/**
 * The encrypt-side data key: one DEK reused for new messages until any bound
 * is reached (age, message count, plaintext bytes), then zeroized and replaced
 * by a fresh one from the KEK provider. Because every message derives its own
 * key (message-keys.ts), the bounds are not a GCM limit; they cap what one DEK
 * protects (the blast radius of a leaked process memory image) and how long a
 * KEK rotation takes to reach new data. docs/crypto.md explains the defaults.
 */
import type { Clock } from "../runtime/clock.js";
import type { KekRef } from "./kek/types.js";
import type { MessageKeys } from "./message-keys.js";

export interface DekLimits {
  maxAgeMs: number;
  maxMessages: number;
  maxBytes: number;
}

export interface PooledDek {
  readonly ref: KekRef;
  /** The DEK's PRK and sealing key (message-keys.ts); the DEK itself is not kept. */
  readonly keys: MessageKeys;
  /** The encoded rp1 key section (provider, key id, version, wrapped DEK). */
  readonly keySection: Buffer;
  readonly createdAt: number;
  messages: number;
  bytes: number;
}

export class DataKeyPool {
  private current: PooledDek | undefined;

  constructor(
    private readonly limits: DekLimits,
    private readonly clock: Clock,
  ) {}

  /**
   * The DEK to encrypt a message of `bytes` plaintext bytes with, usage
   * counted; undefined when there is none or a bound is reached (the old one
   * is zeroized). A single message larger than maxBytes still gets a fresh DEK.
   */
  take(bytes: number): PooledDek | undefined {
    const c = this.current;
    if (c === undefined) return undefined;
    const expired =
      this.clock.now() - c.createdAt >= this.limits.maxAgeMs ||
      c.messages >= this.limits.maxMessages ||
      (c.messages > 0 && c.bytes + bytes > this.limits.maxBytes);
    if (expired) {
      this.flush();
      return undefined;
    }
    c.messages++;
    c.bytes += bytes;
    return c;
  }

  install(entry: PooledDek): void {
    this.flush();
    this.current = entry;
  }

  /** Zeroizes and drops the current DEK (rotation, close). */
  flush(): void {
    this.current?.keys.destroy();
    this.current = undefined;
  }
}
