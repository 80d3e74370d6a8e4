/**
 * Attempt caps per MFA challenge. A 6-digit code has 10^6 values and ±1 step
 * of drift accepts 3 of them at a time (RFC 6238 §5.2), so unlimited guesses
 * against one challenge would find a code in ~170k tries; RFC 4226 §7.3
 * requires throttling. Every attempt counts, right or wrong, so once the cap
 * is reached even the right code is refused and the user starts over.
 */
import type { KvStore } from "../../kv/index.js";

export interface AttemptCounterOptions {
  /** Attempts allowed per challenge. Default 5. */
  maxAttempts?: number;
  /** How long the count lives (the challenge's lifetime). Default 5 minutes. */
  ttlMs?: number;
  /** Key prefix inside the kv namespace. Default `mfa:attempts:`. */
  keyPrefix?: string;
}

export interface AttemptResult {
  /** This attempt may be checked. */
  readonly allowed: boolean;
  /** Attempts made so far, this one included. */
  readonly attempts: number;
  /** Attempts left after this one. */
  readonly remaining: number;
}

export interface AttemptCounter {
  readonly maxAttempts: number;
  /**
   * Counts one attempt against `challengeId` before the code is checked.
   * Atomic (kv increment): of N parallel attempts at most maxAttempts are allowed.
   */
  attempt(challengeId: string): Promise<AttemptResult>;
  /** Forgets a challenge's count (e.g. once it succeeded). */
  reset(challengeId: string): Promise<void>;
}

/** An AttemptCounter over the kv store. */
export function createAttemptCounter(kv: KvStore, options: AttemptCounterOptions = {}): AttemptCounter {
  const maxAttempts = options.maxAttempts ?? 5;
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const prefix = options.keyPrefix ?? "mfa:attempts:";
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`maxAttempts must be an integer ≥ 1, instead got ${maxAttempts}`);
  if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, instead got ${ttlMs}`);
  return {
    maxAttempts,
    async attempt(challengeId) {
      const attempts = await kv.increment(prefix + challengeId, 1, ttlMs);
      return { allowed: attempts <= maxAttempts, attempts, remaining: Math.max(0, maxAttempts - attempts) };
    },
    async reset(challengeId) {
      await kv.del(prefix + challengeId);
    },
  };
}
