// Threat: online password (or second-factor) guessing against one account. After
// `maxFailures` failures within the window the account is locked for `lockMs`, even
// for the right secret; parallel guesses cannot exceed the budget, and independent
// counters (login, second factor) never unlock or lock each other.
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_LOCKOUT, Lockout, type LockoutPolicy } from "../../src/auth/lockout.js";
import { MemoryKv } from "../../src/kv/index.js";
import { ManualClock } from "../../src/runtime/index.js";

const POLICY: LockoutPolicy = { maxFailures: 3, windowMs: 60_000, lockMs: 120_000 };

describe("Lockout", () => {
  const stores: MemoryKv[] = [];
  const setup = (policy: LockoutPolicy = POLICY, prefix?: string) => {
    const clock = new ManualClock();
    const kv = new MemoryKv({ clock });
    stores.push(kv);
    return { clock, kv, lockout: new Lockout(kv, policy, prefix) };
  };
  afterEach(async () => {
    for (const kv of stores.splice(0)) await kv.close();
  });

  /** Runs `n` failed attempts one after the other; returns what each `fail` answered. */
  const failTimes = async (lockout: Lockout, account: string, n: number): Promise<boolean[]> => {
    const locked: boolean[] = [];
    for (let i = 0; i < n; i++) {
      const d = await lockout.begin(account);
      if (!d.allowed) throw new Error(`attempt ${i + 1} refused`);
      locked.push(await lockout.fail(account, d.attempt));
    }
    return locked;
  };

  it("numbers the attempts of a window from 1 and locks on the maxFailures-th failure", async () => {
    const { lockout } = setup();
    const attempts: number[] = [];
    for (let i = 0; i < POLICY.maxFailures - 1; i++) {
      const d = await lockout.begin("a");
      expect(d.allowed).toBe(true);
      if (d.allowed) attempts.push(d.attempt);
      if (d.allowed) expect(await lockout.fail("a", d.attempt)).toBe(false);
      expect(await lockout.isLocked("a")).toBe(false);
    }
    expect(attempts).toEqual([1, 2]);
    const last = await lockout.begin("a");
    expect(last).toEqual({ allowed: true, attempt: POLICY.maxFailures });
    // This failure is the one that locks: the caller emits `auth.locked` once.
    expect(await lockout.fail("a", POLICY.maxFailures)).toBe(true);
    expect(await lockout.isLocked("a")).toBe(true);
  });

  it("refuses a locked account, even for the right secret, with Retry-After until the lock ends", async () => {
    const { lockout, clock } = setup();
    await failTimes(lockout, "a", POLICY.maxFailures);
    expect(await lockout.begin("a")).toEqual({ allowed: false, retryAfterMs: POLICY.lockMs, lockedNow: false });
    clock.advance(POLICY.lockMs - 30_000);
    expect(await lockout.begin("a")).toEqual({ allowed: false, retryAfterMs: 30_000, lockedNow: false });
    // A client is never told to retry in less than a second.
    clock.advance(29_999);
    expect(await lockout.begin("a")).toEqual({ allowed: false, retryAfterMs: 1000, lockedNow: false });
    clock.advance(1);
    expect(await lockout.isLocked("a")).toBe(false);
    expect(await lockout.begin("a")).toEqual({ allowed: true, attempt: 1 });
  });

  it("parallel attempts: exactly maxFailures are let through, the next one locks the account", async () => {
    const { lockout } = setup();
    const decisions = await Promise.all(Array.from({ length: POLICY.maxFailures + 3 }, () => lockout.begin("a")));
    const allowed = decisions.filter((d) => d.allowed);
    expect(allowed.map((d) => d.allowed && d.attempt).sort()).toEqual([1, 2, 3]);
    const refused = decisions.filter((d) => !d.allowed);
    expect(refused).toHaveLength(3);
    // One refusal set the lock; the others found it set.
    expect(refused.filter((d) => !d.allowed && d.lockedNow)).toHaveLength(1);
    for (const d of refused) expect(d).toMatchObject({ allowed: false, retryAfterMs: POLICY.lockMs });
    expect(await lockout.isLocked("a")).toBe(true);
  });

  it("a lock set by an attempt beyond the budget reports the lock's remaining time", async () => {
    const { lockout } = setup();
    for (let i = 0; i < POLICY.maxFailures; i++) expect((await lockout.begin("a")).allowed).toBe(true);
    expect(await lockout.begin("a")).toEqual({ allowed: false, retryAfterMs: POLICY.lockMs, lockedNow: true });
  });

  it("an attempt racing another instance's lock reports the time that lock has left", async () => {
    // The memory store, with a hook between the lock check and the increment: there, another
    // instance locks the account and 30 s pass before this attempt is counted.
    class RacedKv extends MemoryKv {
      meanwhile: (() => Promise<void>) | undefined;
      override async increment(key: string, by: number, ttlMs: number): Promise<number> {
        const m = this.meanwhile;
        this.meanwhile = undefined;
        await m?.();
        return super.increment(key, by, ttlMs);
      }
    }
    const clock = new ManualClock();
    const kv = new RacedKv({ clock });
    stores.push(kv);
    const lockout = new Lockout(kv, POLICY);
    const other = new Lockout(kv, POLICY);
    for (let i = 0; i < POLICY.maxFailures; i++) expect((await lockout.begin("a")).allowed).toBe(true);
    kv.meanwhile = async () => {
      expect(await other.fail("a", POLICY.maxFailures)).toBe(true);
      clock.advance(30_000);
    };
    expect(await lockout.begin("a")).toEqual({ allowed: false, retryAfterMs: POLICY.lockMs - 30_000, lockedNow: false });
  });

  it("a failure after the account is already locked does not lock it again", async () => {
    const { lockout, clock } = setup();
    await failTimes(lockout, "a", POLICY.maxFailures);
    clock.advance(10_000);
    // A late failure of an attempt begun before the lock: no second `auth.locked`, no longer lock.
    expect(await lockout.fail("a", POLICY.maxFailures + 1)).toBe(false);
    expect(await lockout.begin("a")).toMatchObject({ retryAfterMs: POLICY.lockMs - 10_000 });
  });

  it("failures outside the window do not add up", async () => {
    const { lockout, clock } = setup();
    await failTimes(lockout, "a", POLICY.maxFailures - 1);
    clock.advance(POLICY.windowMs);
    expect(await failTimes(lockout, "a", POLICY.maxFailures - 1)).toEqual([false, false]);
    expect(await lockout.isLocked("a")).toBe(false);
  });

  it("a success clears the attempts of the window", async () => {
    const { lockout } = setup();
    await failTimes(lockout, "a", POLICY.maxFailures - 1);
    const ok = await lockout.begin("a");
    expect(ok).toEqual({ allowed: true, attempt: POLICY.maxFailures });
    await lockout.succeed("a");
    expect(await lockout.begin("a")).toEqual({ allowed: true, attempt: 1 });
  });

  it("unlock clears the lock and the attempts, and says whether the account was locked", async () => {
    const { lockout } = setup();
    expect(await lockout.unlock("a")).toBe(false);
    await failTimes(lockout, "a", POLICY.maxFailures);
    expect(await lockout.unlock("a")).toBe(true);
    expect(await lockout.isLocked("a")).toBe(false);
    expect(await lockout.begin("a")).toEqual({ allowed: true, attempt: 1 });
  });

  it("accounts and key prefixes are counted apart", async () => {
    const { lockout, kv } = setup();
    const mfa = new Lockout(kv, POLICY, "mfa-lockout");
    await failTimes(lockout, "a", POLICY.maxFailures);
    expect(await lockout.isLocked("b")).toBe(false);
    expect(await mfa.isLocked("a")).toBe(false);
    expect(await mfa.begin("a")).toEqual({ allowed: true, attempt: 1 });
    expect(await mfa.unlock("a")).toBe(false);
    expect(await lockout.isLocked("a")).toBe(true);
  });

  it("defaults to 5 failures in 15 minutes locking for 15 minutes", async () => {
    const clock = new ManualClock();
    const kv = new MemoryKv({ clock });
    stores.push(kv);
    const lockout = new Lockout(kv);
    expect(DEFAULT_LOCKOUT).toEqual({ maxFailures: 5, windowMs: 900_000, lockMs: 900_000 });
    expect(await failTimes(lockout, "a", 5)).toEqual([false, false, false, false, true]);
    expect(await lockout.begin("a")).toEqual({ allowed: false, retryAfterMs: 900_000, lockedNow: false });
  });
});
