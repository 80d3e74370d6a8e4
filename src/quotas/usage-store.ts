/**
 * Persisted usage (`rampart_usage`): the kv counters decide admissions; this
 * table keeps what was admitted so `/v1/admin/usage` sees every instance's
 * traffic and the numbers survive restarts (and re-seed the memory store).
 *
 * Each instance adds up its own deltas in memory and flushes them with
 * `used = used + delta` upserts (periodically, before an admin report and at
 * close), so concurrent instances never overwrite each other. A failed flush
 * keeps its deltas for the next one; rows of users deleted in the meantime
 * are dropped.
 */
import { sql, type Kysely } from "kysely";
import type { Tables } from "../db/index.js";
import type { Logger } from "../log/index.js";
import type { Period } from "./plans.js";
import type { PeriodWindow } from "./periods.js";

interface Delta {
  userId: string;
  meter: string;
  period: Period;
  start: number;
  delta: number;
}

/** One row of a report: a user's use of a meter in a window. */
export interface UsageRow {
  userId: string;
  used: number;
}

const BATCH = 500;
const FOREIGN_KEY_VIOLATION = "23503";

function keyOf(userId: string, meter: string, period: string, start: number): string {
  return `${userId}\u0000${meter}\u0000${period}\u0000${start}`;
}

export class UsageStore {
  private pending = new Map<string, Delta>();
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Tables>,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Records `delta` units of `meter` used by `userId` in window `w` (flushed later). */
  add(userId: string, meter: string, w: Pick<PeriodWindow, "period" | "start">, delta: number): void {
    if (delta === 0) return;
    const k = keyOf(userId, meter, w.period, w.start);
    const d = this.pending.get(k);
    if (d) d.delta += delta;
    else this.pending.set(k, { userId, meter, period: w.period, start: w.start, delta });
  }

  /** Persisted use plus this instance's unflushed deltas (to re-seed a counter the kv store lost). */
  async read(userId: string, meter: string, w: PeriodWindow): Promise<number> {
    const row = await this.db
      .selectFrom("rampart_usage")
      .select("used")
      .where("user_id", "=", userId)
      .where("meter", "=", meter)
      .where("period", "=", w.period)
      .where("period_start", "=", new Date(w.start))
      .executeTakeFirst();
    return Math.max(0, Number(row?.used ?? 0) + (this.pending.get(keyOf(userId, meter, w.period, w.start))?.delta ?? 0));
  }

  /** The heaviest users of `meter` in window `w`, after flushing this instance's deltas. */
  async top(meter: string, w: PeriodWindow, limit: number): Promise<UsageRow[]> {
    await this.flush();
    const rows = await this.db
      .selectFrom("rampart_usage")
      .select(["user_id", "used"])
      .where("meter", "=", meter)
      .where("period", "=", w.period)
      .where("period_start", "=", new Date(w.start))
      .where("used", ">", 0)
      .orderBy("used", "desc")
      .orderBy("user_id")
      .limit(limit)
      .execute();
    return rows.map((r) => ({ userId: r.user_id, used: Number(r.used) }));
  }

  /** Writes the pending deltas; concurrent callers share one flush. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.pending.size > 0 ? this.flush() : undefined));
    if (this.pending.size === 0) return Promise.resolve();
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.write(batch)
      .catch((err: unknown) => {
        // Keep the deltas for the next attempt (merged with what arrived since).
        for (const d of batch) this.add(d.userId, d.meter, d, d.delta);
        this.log.warn({ err, rows: batch.length }, "quota usage flush failed; retrying at the next flush");
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async write(batch: Delta[]): Promise<void> {
    for (let i = 0; i < batch.length; i += BATCH) {
      const part = batch.slice(i, i + BATCH);
      try {
        await this.upsert(part);
      } catch (err) {
        if ((err as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw err;
        // A user was deleted meanwhile: write row by row, dropping theirs.
        for (const d of part) {
          await this.upsert([d]).catch((e: unknown) => {
            if ((e as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw e;
          });
        }
      }
    }
  }

  private async upsert(rows: Delta[]): Promise<void> {
    const at = new Date(this.now());
    await this.db
      .insertInto("rampart_usage")
      .values(rows.map((d) => ({ user_id: d.userId, meter: d.meter, period: d.period, period_start: new Date(d.start), used: d.delta, updated_at: at })))
      .onConflict((oc) =>
        oc.columns(["user_id", "meter", "period", "period_start"]).doUpdateSet({
          used: sql<number>`greatest(0, rampart_usage.used + excluded.used)`,
          updated_at: at,
        }),
      )
      .execute();
  }
}
