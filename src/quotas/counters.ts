/**
 * Live quota counters in the kv store: one integer per user, meter and
 * period window, changed only with `increment` (atomic, one round trip; the
 * TTL set at creation runs to the window's end), so N concurrent requests get
 * N distinct totals and admission is decided on them without a lock.
 *
 * A counter the store does not have (the memory store after a restart, or
 * Redis after a data loss) is seeded once from the persisted usage before its
 * first increment on this instance; the seeded keys are remembered in a
 * bounded per-instance set.
 */
import type { KvStore } from "../kv/index.js";
import { windowTag, type PeriodWindow } from "./periods.js";
import type { UsageStore } from "./usage-store.js";

const MIN_TTL_MS = 1_000;

export class Counters {
  private readonly seeded = new Map<string, true>();
  private readonly seeding = new Map<string, Promise<void>>();

  constructor(
    private readonly kv: KvStore,
    private readonly usage: UsageStore,
    private readonly maxSeeded = 100_000,
  ) {}

  /** The kv key of a counter: `quota:<meter>:<d20260101|m202601>:<userId>`. */
  key(userId: string, meter: string, w: PeriodWindow): string {
    return `quota:${meter}:${windowTag(w)}:${userId}`;
  }

  /** Atomically adds `by` (may be negative) and returns the new total. */
  add(userId: string, meter: string, w: PeriodWindow, by: number, now: number): Promise<number> {
    const key = this.key(userId, meter, w);
    // Once seeded (every request but a counter's first on this instance), straight to the store.
    if (this.seeded.has(key)) return this.kv.increment(key, by, ttlFor(w, now));
    return this.ensureSeeded(key, userId, meter, w, now).then(() => this.kv.increment(key, by, ttlFor(w, now)));
  }

  /** The current total (0 when nothing was counted). */
  async get(userId: string, meter: string, w: PeriodWindow, now: number): Promise<number> {
    const key = this.key(userId, meter, w);
    await this.ensureSeeded(key, userId, meter, w, now);
    const v = await this.kv.get(key);
    return v === null ? 0 : Math.max(0, Number(v));
  }

  private async ensureSeeded(key: string, userId: string, meter: string, w: PeriodWindow, now: number): Promise<void> {
    if (this.seeded.has(key)) return;
    let p = this.seeding.get(key);
    if (!p) {
      p = (async () => {
        if ((await this.kv.get(key)) === null) {
          const persisted = await this.usage.read(userId, meter, w);
          // ifAbsent: an increment that got there first (another instance) wins.
          if (persisted > 0) await this.kv.set(key, String(persisted), { ifAbsent: true, ttlMs: ttlFor(w, now) });
        }
        // Marked only once seeded, so no increment on this instance can precede the seed.
        this.seeded.set(key, true);
        if (this.seeded.size > this.maxSeeded) this.seeded.delete(this.seeded.keys().next().value!);
      })().finally(() => this.seeding.delete(key));
      this.seeding.set(key, p);
    }
    await p;
  }
}

function ttlFor(w: PeriodWindow, now: number): number {
  return Math.max(MIN_TTL_MS, w.end - now);
}
