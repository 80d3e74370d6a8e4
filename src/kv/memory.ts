/**
 * In-process key-value store for the embedded (single instance) mode. Node runs
 * each method body to completion without interleaving, so every operation here
 * is atomic by construction; the methods are async only to share the KvStore
 * contract with Redis.
 *
 * Expired keys are dropped lazily on access and by a periodic sweep, so memory
 * stays bounded by the live keys.
 */
import type { Clock } from "../runtime/clock.js";
import type { KvStore, SetOptions, Unsubscribe } from "./types.js";

interface Entry {
  value: string;
  /** Epoch ms; Infinity = no expiry. */
  expiresAt: number;
}

export interface MemoryKvOptions {
  clock: Clock;
  /** How often expired keys are swept (ms). */
  sweepIntervalMs?: number;
}

export class MemoryKv implements KvStore {
  readonly kind = "memory" as const;
  private readonly entries = new Map<string, Entry>();
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  private readonly clock: Clock;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(options: MemoryKvOptions) {
    this.clock = options.clock;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.sweeper.unref();
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("kv store is closed");
  }

  async get(key: string): Promise<string | null> {
    this.assertOpen();
    return this.live(key)?.value ?? null;
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    this.assertOpen();
    if (options.ttlMs !== undefined && !(options.ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, instead got ${options.ttlMs}`);
    if (options.ifAbsent && this.live(key) !== undefined) return false;
    this.entries.set(key, { value, expiresAt: options.ttlMs === undefined ? Infinity : this.clock.now() + options.ttlMs });
    return true;
  }

  async del(key: string): Promise<boolean> {
    this.assertOpen();
    const existed = this.live(key) !== undefined;
    this.entries.delete(key);
    return existed;
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    this.assertOpen();
    if (!Number.isSafeInteger(by)) throw new RangeError(`by must be an integer, instead got ${by}`);
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, instead got ${ttlMs}`);
    const e = this.live(key);
    if (e === undefined) {
      this.entries.set(key, { value: String(by), expiresAt: this.clock.now() + ttlMs });
      return by;
    }
    const current = Number(e.value);
    if (!Number.isSafeInteger(current)) throw new TypeError("value is not an integer");
    e.value = String(current + by);
    return current + by;
  }

  async consume(key: string): Promise<string | null> {
    this.assertOpen();
    const e = this.live(key);
    if (e === undefined) return null;
    this.entries.delete(key);
    return e.value;
  }

  async ttl(key: string): Promise<number | null> {
    this.assertOpen();
    const e = this.live(key);
    if (e === undefined) return null;
    return e.expiresAt === Infinity ? -1 : e.expiresAt - this.clock.now();
  }

  async publish(channel: string, message: string): Promise<void> {
    this.assertOpen();
    const handlers = this.channels.get(channel);
    if (!handlers) return;
    // Delivered asynchronously, as over Redis: a publisher never runs subscriber code inline.
    // A handler unsubscribed (or a store closed) before delivery does not receive it.
    for (const h of [...handlers]) setImmediate(() => !this.closed && handlers.has(h) && h(message));
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe> {
    this.assertOpen();
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0) this.channels.delete(channel);
    };
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.entries.clear();
    this.channels.clear();
  }

  /** Number of live keys (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
  }
}
