/**
 * Per-account login lockout over the shared kv store. 5 failed logins per
 * account within 15 minutes lock it for 15 minutes, even for the right
 * password. Every password check counts, at login and when a sensitive action
 * asks for the password again (src/auth/reauth.ts); the same class, under
 * another key prefix, locks a user's second factor. The key is the email's blind index whether or not an account
 * exists, so lockout does not reveal which accounts exist.
 *
 * An attempt reserves its slot *before* the password is verified (an atomic
 * increment), so N parallel guesses cannot all slip past a check-then-act
 * window: at most `maxFailures` verifications run per window.
 */
import type { KvStore } from "../kv/index.js";

export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };

export type AttemptDecision = { allowed: true; attempt: number } | { allowed: false; retryAfterMs: number; lockedNow: boolean };

export class Lockout {
  /**
   * `keyPrefix` separates independent counters on one kv store (the login
   * lockout per email and the second-factor lockout per user).
   */
  constructor(
    private readonly kv: KvStore,
    private readonly policy: LockoutPolicy = DEFAULT_LOCKOUT,
    private readonly keyPrefix = "lockout",
  ) {}

  private keys(account: string) {
    return { attempts: `${this.keyPrefix}:attempts:${account}`, locked: `${this.keyPrefix}:locked:${account}` };
  }

  /** Reserves an attempt; refuses when the account is locked or the window's attempts are used up. */
  async begin(account: string): Promise<AttemptDecision> {
    const k = this.keys(account);
    const lockedTtl = await this.kv.ttl(k.locked);
    if (lockedTtl !== null) return { allowed: false, retryAfterMs: Math.max(lockedTtl, 1000), lockedNow: false };
    const attempt = await this.kv.increment(k.attempts, 1, this.policy.windowMs);
    if (attempt > this.policy.maxFailures) {
      const lockedNow = await this.kv.set(k.locked, "1", { ttlMs: this.policy.lockMs, ifAbsent: true });
      const ttl = (await this.kv.ttl(k.locked)) ?? this.policy.lockMs;
      return { allowed: false, retryAfterMs: Math.max(ttl, 1000), lockedNow };
    }
    return { allowed: true, attempt };
  }

  /**
   * Records a failed attempt. Returns true when this failure locked the account
   * (the caller emits the `auth.locked` event).
   */
  async fail(account: string, attempt: number): Promise<boolean> {
    if (attempt < this.policy.maxFailures) return false;
    return this.kv.set(this.keys(account).locked, "1", { ttlMs: this.policy.lockMs, ifAbsent: true });
  }

  /** A successful login clears the attempts. */
  async succeed(account: string): Promise<void> {
    await this.kv.del(this.keys(account).attempts);
  }

  /** Admin unlock: clears the lock and the attempts. Returns whether the account was locked. */
  async unlock(account: string): Promise<boolean> {
    const k = this.keys(account);
    const was = await this.kv.del(k.locked);
    await this.kv.del(k.attempts);
    return was;
  }

  async isLocked(account: string): Promise<boolean> {
    return (await this.kv.ttl(this.keys(account).locked)) !== null;
  }
}
