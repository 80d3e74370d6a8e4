/**
 * Quotas: per-user plans, meters counted per UTC day and month, a warning at
 * 80 % and a refusal at 100 %.
 *
 * `consume` adds to the day and the month counter of a meter (each one atomic
 * kv increment, issued together) and admits when no limited total went over
 * its limit. A refused consumption is taken back, so `used` counts what was
 * admitted, and N concurrent requests at a limit admit exactly the remainder.
 * With limits on both periods of one meter, a request refused by one period
 * briefly holds a unit of the other: the limits are never exceeded, but a
 * concurrent request may be refused by a margin that clears a moment later.
 *
 * The meters are the built-in ones plus the app's (meters.ts). A consumption
 * made while a request is being served is remembered for that request, so the
 * quota plugin puts its warnings on the response whoever consumed: the
 * built-in hooks or the app's own code.
 */
import { currentContext } from "../context/request-context.js";
import { RampartError } from "../errors/index.js";
import type { SecurityEvents } from "../events/index.js";
import type { KvStore } from "../kv/index.js";
import type { Logger } from "../log/index.js";
import type { Clock } from "../runtime/index.js";
import type { Counters } from "./counters.js";
import type { MeterState } from "./headers.js";
import { secondsUntilReset, windowOf, windowTag, type PeriodWindow } from "./periods.js";
import { assertKnownMeter, resolveMeters } from "./meters.js";
import { limitOf, PERIODS, type Meter } from "./plans.js";
import type { PlanStore, UserPlan } from "./plan-store.js";
import type { UsageStore } from "./usage-store.js";

/** The outcome of an admitted consumption. */
export interface Consumption {
  /** Every period of the meter after this consumption. */
  states: MeterState[];
  /** The limited periods at or above the warning ratio (for X-Quota-Warning). */
  warnings: MeterState[];
}

export interface QuotasDeps {
  kv: KvStore;
  log: Logger;
  clock: Clock;
  events: SecurityEvents;
  plans: PlanStore;
  counters: Counters;
  usage: UsageStore;
  /** Share of a limit from which responses carry a warning (default 0.8). */
  warnRatio?: number;
  /** Every meter that exists (resolveMeters: the built-ins and the app's); default the built-ins. */
  meters?: readonly string[];
}

/** Whose quota: a user id, or a principal (`request.principal`) that has one. */
export type QuotaHolder = string | { readonly userId: string };

function userIdOf(who: QuotaHolder): string {
  const id = typeof who === "string" ? who : who?.userId;
  if (typeof id !== "string" || id === "") throw new TypeError("a quota is consumed for a user id or a principal with a userId");
  return id;
}

function assertAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`a quota amount must be an integer >= 0, instead got ${String(amount)}`);
}

export class Quotas {
  private readonly warnRatio: number;
  private timer: NodeJS.Timeout | undefined;
  /** Warnings of admitted consumptions per request context, until the response takes them. */
  private readonly requestWarnings = new WeakMap<object, MeterState[]>();
  /** The meters that exist: built-in first, then the app's. */
  readonly meters: readonly string[];

  constructor(private readonly d: QuotasDeps) {
    this.warnRatio = d.warnRatio ?? 0.8;
    this.meters = d.meters ?? resolveMeters();
  }

  /** The warnings of consumptions made while serving the request of `context`, once (the quota plugin writes them as X-Quota-Warning). */
  takeWarnings(context: object): MeterState[] {
    const w = this.requestWarnings.get(context);
    if (w === undefined) return [];
    this.requestWarnings.delete(context);
    // The latest state of each meter window: a meter consumed twice is reported once.
    return [...new Map(w.map((s) => [`${s.meter}\u0000${s.period}`, s])).values()];
  }

  /** Flushes persisted usage every `intervalMs` (the timer does not keep the process alive). */
  startFlushing(intervalMs: number): void {
    this.timer ??= setInterval(() => void this.d.usage.flush(), intervalMs).unref();
  }

  /** Writes this instance's pending usage to the database now. */
  flush(): Promise<void> {
    return this.d.usage.flush();
  }

  /** Stops the timer, writes the pending usage and unsubscribes. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.d.usage.flush();
    await this.d.plans.close();
  }

  /** Puts a user on `plan` (an admin action, audited); 404 for an unknown user, 400 for an unknown plan. */
  async setPlan(adminId: string, userId: string, plan: string): Promise<UserPlan> {
    if (!this.d.plans.has(plan)) {
      throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: "body.plan", message: `unknown plan; one of: ${this.d.plans.names().join(", ")}` }] } });
    }
    const before = await this.d.plans.planOf(userId);
    if (!(await this.d.plans.setPlan(userId, plan))) throw new RampartError("NOT_FOUND", { message: "No such user." });
    this.emitEvent("quota.plan.changed", { actor: { type: "admin", id: adminId }, target: `user:${userId}`, data: { from: before.name, to: plan } });
    return this.d.plans.resolve(plan);
  }

  /** The effective plan of a user. */
  planOf(userId: string): Promise<UserPlan> {
    return this.d.plans.planOf(userId);
  }

  /**
   * Counts `amount` units of `meter` for a user (an id or a principal);
   * throws `429 QUOTA_EXCEEDED` (with Retry-After and the meter's state) when
   * a limit would be passed, in which case nothing stays counted. At 80 % of
   * a limit the result lists warnings, the request being served (if any)
   * carries them as X-Quota-Warning, and the crossing emits `quota.warning`.
   * An unknown meter or a bad amount is a programming error (RangeError).
   */
  async consume(who: QuotaHolder, meter: Meter, amount: number): Promise<Consumption> {
    const userId = userIdOf(who);
    assertKnownMeter(this.meters, meter);
    assertAmount(amount);
    const now = this.d.clock.now();
    const { plan } = this.d.plans.cachedPlanOf(userId) ?? (await this.d.plans.planOf(userId));
    const windows = PERIODS.map((p) => windowOf(p, now));
    const totals = await Promise.all(windows.map((w) => this.d.counters.add(userId, meter, w, amount, now)));
    const states = windows.map((w, i) => state(meter, w, totals[i]!, limitOf(plan, meter, w.period)));
    const over = states.filter((s) => s.limit !== null && s.used > s.limit);
    if (over.length > 0) {
      await Promise.all(windows.map((w) => this.d.counters.add(userId, meter, w, -amount, now))).catch((err: unknown) => this.d.log.error({ err }, "could not take back a refused quota consumption"));
      // The latest reset is the one the caller has to wait for.
      const binding = over.reduce((a, b) => (b.resetsAt > a.resetsAt ? b : a));
      // The event reports what was admitted, as the 429 does: the refused amount was taken back.
      await this.exceeded(userId, { ...binding, used: binding.used - amount }, windows.find((w) => w.period === binding.period)!);
      throw exceededError(binding, binding.used - amount, amount, now);
    }
    for (const w of windows) this.d.usage.add(userId, meter, w, amount);
    const warnings = states.filter((s) => s.limit !== null && s.limit > 0 && s.used >= this.warnRatio * s.limit);
    for (const s of warnings) {
      // Crossing the threshold happens in exactly one consumption per period (totals are distinct).
      if (s.used - amount < this.warnRatio * s.limit!) this.emit("quota.warning", userId, s);
    }
    const ctx = currentContext();
    if (ctx && warnings.length > 0) this.requestWarnings.set(ctx, [...(this.requestWarnings.get(ctx) ?? []), ...warnings]);
    return { states, warnings };
  }

  /**
   * Without counting anything: throws `429 QUOTA_EXCEEDED` when `amount` more
   * units would pass a limit now, else returns how many units are left
   * (Infinity when the plan does not limit the meter). Lets an upload stop
   * early; `consume` still decides.
   */
  async check(who: QuotaHolder, meter: Meter, amount: number): Promise<number> {
    const userId = userIdOf(who);
    assertKnownMeter(this.meters, meter);
    const now = this.d.clock.now();
    const { plan } = await this.d.plans.planOf(userId);
    let remaining = Infinity;
    for (const p of PERIODS) {
      const limit = limitOf(plan, meter, p);
      if (limit === undefined) continue;
      const w = windowOf(p, now);
      const s = state(meter, w, await this.d.counters.get(userId, meter, w, now), limit);
      if (s.used + amount > limit) throw exceededError(s, s.used, amount, now);
      remaining = Math.min(remaining, limit - s.used);
    }
    return remaining;
  }

  /**
   * Gives back `amount` units counted at time `at` (a refused upload, a
   * deleted file): only the windows that are still current change.
   */
  async release(who: QuotaHolder, meter: Meter, amount: number, at: number): Promise<void> {
    const userId = userIdOf(who);
    assertKnownMeter(this.meters, meter);
    assertAmount(amount);
    const now = this.d.clock.now();
    for (const p of PERIODS) {
      const w = windowOf(p, at);
      if (w.end <= now || w.start > now) continue;
      await this.d.counters.add(userId, meter, w, -amount, now);
      this.d.usage.add(userId, meter, w, -amount);
    }
  }

  /** Every meter and period of a user, with the plan's limits. */
  async usage(userId: string): Promise<{ plan: string; meters: MeterState[] }> {
    const now = this.d.clock.now();
    const { name, plan } = await this.d.plans.planOf(userId);
    const meters = await Promise.all(
      this.meters.flatMap((m) =>
        PERIODS.map(async (p) => {
          const w = windowOf(p, now);
          return state(m, w, await this.d.counters.get(userId, m, w, now), limitOf(plan, m, p));
        }),
      ),
    );
    return { plan: name, meters };
  }

  /** The heaviest users of a meter in the current window of `period` (persisted usage of every instance). */
  async top(meter: string, period: (typeof PERIODS)[number], limit: number): Promise<{ window: PeriodWindow; users: { userId: string; plan: string; used: number; limit: number | null }[] }> {
    const window = windowOf(period, this.d.clock.now());
    const rows = await this.d.usage.top(meter, window, limit);
    const plans = await this.d.plans.plansOf(rows.map((r) => r.userId));
    const users = rows.map((r) => {
      const p = plans.get(r.userId) ?? this.d.plans.resolve(null);
      return { userId: r.userId, plan: p.name, used: r.used, limit: limitOf(p.plan, meter, period) ?? null };
    });
    return { window, users };
  }

  /** Emits `quota.exceeded` once per user, meter and window (a kv marker decides which refusal is first). */
  private async exceeded(userId: string, s: MeterState, w: PeriodWindow): Promise<void> {
    const now = this.d.clock.now();
    const marker = `quota:exceeded:${s.meter}:${windowTag(w)}:${userId}`;
    const first = await this.d.kv.set(marker, "1", { ifAbsent: true, ttlMs: Math.max(1_000, w.end - now) }).catch(() => false);
    if (first) this.emit("quota.exceeded", userId, s);
  }

  private emit(name: "quota.warning" | "quota.exceeded", userId: string, s: MeterState): void {
    const data = { meter: s.meter, period: s.period, used: s.used, limit: s.limit, resetsAt: new Date(s.resetsAt).toISOString() };
    this.emitEvent(name, { actor: { type: "user", id: userId }, target: `user:${userId}`, data });
  }

  private emitEvent(name: "quota.warning" | "quota.exceeded" | "quota.plan.changed", event: Parameters<SecurityEvents["emit"]>[1]): void {
    // The emitter may write to the audit log (async); a failure there never fails the request.
    Promise.resolve()
      .then(() => this.d.events.emit(name, event))
      .catch((err: unknown) => this.d.log.error({ err, event: name }, "quota event not recorded"));
  }
}

function state(meter: string, w: PeriodWindow, used: number, limit: number | undefined): MeterState {
  return { meter, period: w.period, used, limit: limit ?? null, resetsAt: w.end };
}

/** `usedBefore`: the total without this request (concurrent refused requests may still show in it, hence the clamp). */
function exceededError(s: MeterState, usedBefore: number, requested: number, now: number): RampartError {
  const resetsAt = new Date(s.resetsAt).toISOString();
  const used = Math.max(0, Math.min(usedBefore, s.limit!));
  return new RampartError("QUOTA_EXCEEDED", {
    message: `The ${s.meter} quota of your plan (${s.limit} per ${s.period}) is exhausted; it resets at ${resetsAt}.`,
    details: { meter: s.meter, period: s.period, used, limit: s.limit, requested, resetsAt },
    headers: { "retry-after": String(secondsUntilReset(s.resetsAt, now)) },
  });
}
