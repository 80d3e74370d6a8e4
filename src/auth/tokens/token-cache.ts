/**
 * A bounded cache of verified access tokens, so a token presented on every
 * request is verified once per instance, not once per request. The key is the
 * SHA-256 of the whole compact token (any change to header, payload or
 * signature is another entry); an entry lives until the token would be refused
 * as expired and is evicted least-recently-used beyond `maxEntries`.
 * Revocation is not cached here: callers check it on every request.
 */
import { hash } from "node:crypto";
import type { AccessTokenClaims } from "./types.js";

interface Entry {
  readonly claims: AccessTokenClaims;
  /** Epoch ms after which the entry is not served. */
  readonly until: number;
}

/** LRU cache of verified claims by token hash. */
export class VerifiedTokenCache {
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recently used.
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) throw new RangeError(`maxEntries must be an integer >= 0, instead got ${maxEntries}`);
  }

  /** The cache key of a token. */
  static keyOf(token: string): string {
    // One-shot hash: half the cost of a Hash object, on every authenticated request.
    return hash("sha256", token, "base64url");
  }

  /** Cached claims of the token with this key, if still valid at `now`. */
  get(key: string, now: number): AccessTokenClaims | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    if (now >= e.until) return undefined;
    this.entries.set(key, e);
    return e.claims;
  }

  /** Caches verified claims until `until` (epoch ms). */
  set(key: string, claims: AccessTokenClaims, until: number): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { claims, until });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Drops one entry (its key no longer trusted). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
