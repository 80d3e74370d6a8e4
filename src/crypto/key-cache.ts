/**
 * A bounded LRU of unwrapped data keys for decryption, owned by one keyring
 * (no module-level state). Entries expire after a maximum age and the least
 * recently used one is evicted past the size bound; every entry leaving the
 * cache — evicted, expired, deleted or cleared — is handed to `dispose`, which
 * zeroizes the key bytes.
 */
import type { Clock } from "../runtime/clock.js";

interface Slot<V> {
  value: V;
  expiresAt: number;
}

export class KeyCache<V> {
  private readonly map = new Map<string, Slot<V>>();
  /** The most recently used key (last in the map), to skip re-inserting it on every hit. */
  private newest: string | undefined;

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
    private readonly clock: Clock,
    private readonly dispose: (value: V, key: string) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= this.clock.now()) {
      this.delete(key);
      return undefined;
    }
    // Re-insert to mark as most recently used (Map keeps insertion order); the hot key usually already is.
    if (key !== this.newest) {
      this.map.delete(key);
      this.map.set(key, slot);
      this.newest = key;
    }
    return slot.value;
  }

  set(key: string, value: V): void {
    this.delete(key);
    this.map.set(key, { value, expiresAt: this.clock.now() + this.maxAgeMs });
    this.newest = key;
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): boolean {
    const slot = this.map.get(key);
    if (slot === undefined) return false;
    this.map.delete(key);
    if (this.newest === key) this.newest = undefined;
    this.dispose(slot.value, key);
    return true;
  }

  /** Deletes every entry matching `pred`; returns how many. */
  deleteWhere(pred: (value: V, key: string) => boolean): number {
    let n = 0;
    for (const [key, slot] of [...this.map]) if (pred(slot.value, key) && this.delete(key)) n++;
    return n;
  }

  clear(): void {
    this.deleteWhere(() => true);
  }
}
