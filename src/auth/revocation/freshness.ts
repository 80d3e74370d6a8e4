/**
 * How long an instance may trust its own copy of the revocation log once the
 * kv store cannot be read: the staleness bound (REVOCATION_STALE_MAX_MS).
 *
 * Staleness is measured from the start of the last *successful* sync with
 * the kv log, not from the first failure: a sync that starts at t has seen
 * every revocation completed before t, so at t + bound the copy misses at
 * most the revocations of the last `bound` ms — on an instance that stopped
 * syncing before the store was noticed as down, too. Pub/sub messages keep
 * the copy current while they arrive, but they carry no such guarantee (a
 * disconnected subscriber misses them), so they never count as a sync.
 */
import type { CheckResult } from "../../health/checks.js";
import type { Clock } from "../../runtime/clock.js";

/**
 * `synced`: the last sync succeeded, checks are exact. `stale`: the kv store
 * cannot be read, checks answer from the local copy within the bound.
 * `closed`: past the bound (or never synced), checks fail closed.
 */
export type RevocationState = "synced" | "stale" | "closed";

/** The list's view of its own freshness (readiness, metrics). */
export interface RevocationHealth {
  readonly state: RevocationState;
  /** Epoch ms at which the last successful sync started; null when it never synced. */
  readonly syncedAt: number | null;
  /** ms since `syncedAt`; null when it never synced. */
  readonly syncAgeMs: number | null;
  /** Epoch ms of the first failure since the last successful sync; null while syncs succeed. */
  readonly failingSince: number | null;
  /** How long the copy may still answer without the kv store (0 when closed). */
  readonly remainingMs: number;
  /** The bound itself, in ms. */
  readonly staleMaxMs: number;
  /** Revocations applied on this instance only, waiting to be written to the kv log. */
  readonly pendingWrites: number;
}

/** The sync bookkeeping of one revocation list. */
export class Freshness {
  private syncedAt: number | null = null;
  private failingSince: number | null = null;

  constructor(
    private readonly clock: Clock,
    /** The bound in ms; 0 = never answer without the kv store. */
    readonly staleMaxMs: number,
  ) {
    if (!Number.isSafeInteger(staleMaxMs) || staleMaxMs < 0) throw new RangeError(`staleMaxMs must be an integer >= 0, instead got ${staleMaxMs}`);
  }

  /** A sync that started at `startedAt` succeeded; returns the failure it ends (epoch ms), or null. */
  synced(startedAt: number): number | null {
    const ended = this.failingSince;
    this.syncedAt = Math.max(this.syncedAt ?? startedAt, startedAt);
    this.failingSince = null;
    return ended;
  }

  /** A sync (or a write) failed; returns whether this failure starts an outage. */
  failed(): boolean {
    if (this.failingSince !== null) return false;
    this.failingSince = this.clock.now();
    return true;
  }

  /** Whether the kv store failed since the last successful sync. */
  get failing(): boolean {
    return this.failingSince !== null;
  }

  /**
   * Whether the local copy may answer a check without the kv store at `now`:
   * it synced less than `staleMaxMs` ago. With a bound of 0, never.
   */
  usable(now: number): boolean {
    return this.syncedAt !== null && now - this.syncedAt < this.staleMaxMs;
  }

  state(now: number): RevocationState {
    if (!this.failing) return this.syncedAt === null ? "closed" : "synced";
    return this.usable(now) ? "stale" : "closed";
  }

  health(now: number, pendingWrites: number): RevocationHealth {
    const state = this.state(now);
    const remainingMs = state === "closed" || this.syncedAt === null ? 0 : state === "synced" ? this.staleMaxMs : Math.max(0, this.syncedAt + this.staleMaxMs - now);
    const syncAgeMs = this.syncedAt === null ? null : Math.max(0, now - this.syncedAt);
    return { state, syncedAt: this.syncedAt, syncAgeMs, failingSince: this.failingSince, remainingMs, staleMaxMs: this.staleMaxMs, pendingWrites };
  }
}

/**
 * The readiness result of a revocation list: `pass` in sync, `warn` while it
 * answers from its copy within the bound (the instance serves), `fail` once
 * checks fail closed. The outputs name redis: the kv store in scale-out mode.
 */
export function revocationReadiness(h: RevocationHealth): CheckResult {
  if (h.state === "synced") return { status: "pass" };
  if (h.syncAgeMs === null) return { status: "fail", output: "never synced with the kv store (redis); authenticated requests fail closed" };
  const age = Math.round(h.syncAgeMs / 1000);
  if (h.state === "stale") return { status: "warn", output: `kv store (redis) unreachable; answering from this instance's copy, last synced ${age} s ago, for at most ${Math.ceil(h.remainingMs / 1000)} s more` };
  return { status: "fail", output: `kv store (redis) unreachable; last synced ${age} s ago, past the staleness bound of ${Math.round(h.staleMaxMs / 1000)} s: authenticated requests fail closed` };
}
