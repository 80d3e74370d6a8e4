/**
 * The key-value store every piece of shared state goes through: rate limits,
 * lockout counters, revocation lists, replay caches, pub/sub invalidation.
 *
 * Two implementations (in-process memory for one embedded instance, Redis for
 * several) pass one conformance suite (test/kv/conformance.ts). The atomic
 * semantics below are the contract; callers rely on them for security.
 *
 * Keys are plain strings; the store adds its own namespace prefix. TTLs are in
 * milliseconds and measured by the store (the memory store uses the runtime
 * clock, Redis its own clock).
 */

export interface SetOptions {
  /** Expire the key after this many milliseconds (> 0). Without it the key does not expire. */
  ttlMs?: number;
  /** Only set when the key does not exist (SET NX). */
  ifAbsent?: boolean;
}

export type Unsubscribe = () => Promise<void>;

export interface KvStore {
  /** Which implementation: "memory" or "redis". */
  readonly kind: "memory" | "redis";

  /** The value, or null when absent or expired. */
  get(key: string): Promise<string | null>;

  /**
   * Sets a value. With `ifAbsent`, exactly one of any number of concurrent
   * callers for an absent key succeeds; returns whether the value was written.
   */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;

  /** Deletes a key; returns whether it existed. */
  del(key: string): Promise<boolean>;

  /**
   * Atomically adds `by` to an integer counter and returns the new value. When
   * the key is created by this call it gets `ttlMs` (a fixed window); later
   * increments never extend the TTL. N concurrent increments by 1 on an absent
   * key return exactly the values 1..N.
   */
  increment(key: string, by: number, ttlMs: number): Promise<number>;

  /**
   * Consume-once: atomically reads and deletes a key. Of any number of
   * concurrent callers for the same key, exactly one receives the value; the
   * others receive null.
   */
  consume(key: string): Promise<string | null>;

  /** Milliseconds until the key expires; null when absent, -1 when it has no TTL. */
  ttl(key: string): Promise<number | null>;

  /**
   * Publishes a message to every subscriber of `channel` on every instance
   * sharing the store (at-most-once, no persistence: a subscriber that is not
   * connected misses it). Resolves once the message was handed to the store.
   */
  publish(channel: string, message: string): Promise<void>;

  /**
   * Subscribes a handler to `channel`. Resolves once the subscription is
   * active, so a publish issued after it resolves is delivered.
   */
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;

  /** Round trip to the store; rejects when it is unreachable. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
