/**
 * Which plan each user is on: `rampart_users.plan`, null meaning the default
 * plan (RAMPART_DEFAULT_PLAN). Read on every authenticated request, so it is
 * cached per instance (bounded, with a TTL) and invalidated on every instance
 * through kv pub/sub when an admin changes a plan.
 */
import type { Kysely } from "kysely";
import type { Tables } from "../db/index.js";
import type { KvStore, Unsubscribe } from "../kv/index.js";
import type { Logger } from "../log/index.js";
import type { Plan, Plans } from "./plans.js";

const CHANGED_CHANNEL = "quotas:plan-changed";

/** A user's effective plan. */
export interface UserPlan {
  name: string;
  plan: Plan;
}

export interface PlanStoreOptions {
  db: Kysely<Tables>;
  kv: KvStore;
  log: Logger;
  now: () => number;
  plans: Plans;
  defaultPlan: string;
  cacheSize?: number;
  cacheTtlMs?: number;
}

export class PlanStore {
  private readonly cache = new Map<string, { name: string; expiresAt: number }>();
  private unsubscribe: Unsubscribe | undefined;
  private readonly cacheSize: number;
  private readonly cacheTtlMs: number;

  private constructor(private readonly o: PlanStoreOptions) {
    this.cacheSize = o.cacheSize ?? 10_000;
    this.cacheTtlMs = o.cacheTtlMs ?? 60_000;
  }

  static async create(o: PlanStoreOptions): Promise<PlanStore> {
    const store = new PlanStore(o);
    store.unsubscribe = await o.kv.subscribe(CHANGED_CHANNEL, (userId) => store.cache.delete(userId));
    return store;
  }

  /** Whether `name` is a configured plan. */
  has(name: string): boolean {
    return Object.hasOwn(this.o.plans, name);
  }

  /** The configured plan names. */
  names(): string[] {
    return Object.keys(this.o.plans);
  }

  /** The plan `name` resolves to, falling back to the default for a plan no longer configured. */
  resolve(name: string | null): UserPlan {
    if (name !== null) {
      if (this.has(name)) return { name, plan: this.o.plans[name]! };
    }
    return { name: this.o.defaultPlan, plan: this.o.plans[this.o.defaultPlan]! };
  }

  /** The effective plan of a user (unknown users get the default). */
  /** The plan of a user when this instance has it cached, without a promise (the hot path of every request). */
  cachedPlanOf(userId: string): UserPlan | undefined {
    const hit = this.cache.get(userId);
    return hit && hit.expiresAt > this.o.now() ? this.resolve(hit.name) : undefined;
  }

  async planOf(userId: string): Promise<UserPlan> {
    const now = this.o.now();
    const hit = this.cache.get(userId);
    if (hit && hit.expiresAt > now) return this.resolve(hit.name);
    const row = await this.o.db.selectFrom("rampart_users").select("plan").where("id", "=", userId).executeTakeFirst();
    const stored = row?.plan ?? null;
    if (stored !== null && !this.has(stored)) this.o.log.warn({ userId, plan: stored }, "user's plan is not in RAMPART_PLANS; using the default plan");
    const name = stored !== null && this.has(stored) ? stored : this.o.defaultPlan;
    this.cache.delete(userId);
    this.cache.set(userId, { name, expiresAt: now + this.cacheTtlMs });
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return this.resolve(name);
  }

  /** Plans of several users at once (admin reports). */
  async plansOf(userIds: readonly string[]): Promise<Map<string, UserPlan>> {
    const out = new Map<string, UserPlan>();
    if (userIds.length === 0) return out;
    const rows = await this.o.db.selectFrom("rampart_users").select(["id", "plan"]).where("id", "in", [...userIds]).execute();
    for (const r of rows) out.set(r.id, this.resolve(r.plan));
    return out;
  }

  /** Sets a user's plan; returns false when the user does not exist. Other instances drop their cached copy. */
  async setPlan(userId: string, name: string): Promise<boolean> {
    const res = await this.o.db.updateTable("rampart_users").set({ plan: name, updated_at: new Date(this.o.now()) }).where("id", "=", userId).where("status", "!=", "erased").executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    this.cache.delete(userId);
    await this.o.kv.publish(CHANGED_CHANNEL, userId).catch((err: unknown) => this.o.log.warn({ err }, "plan change not broadcast; other instances see it within the cache TTL"));
    return true;
  }

  async close(): Promise<void> {
    await this.unsubscribe?.();
    this.cache.clear();
  }
}
