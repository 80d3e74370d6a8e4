/**
 * The replicated state behind the revocation list: an append-only log in the
 * kv store and its per-instance copy.
 *
 * In kv: a counter `revocations:epoch` and one entry per revocation,
 * `revocations:log:<n>` = `{ sids, until }`, kept for the retention (token
 * lifetime + skew). Appending takes the next epoch n (atomic increment),
 * writes entry n, then (in the caller) publishes it.
 *
 * Per instance: the revoked sids (`local`) and a frontier `applied` such that
 * every entry with an epoch ≤ `applied` is in `local`. Entries arrive by
 * pub/sub, or are fetched by `sync`, which reads the counter and fetches what
 * is missing below it. So a check that runs a sync *started after it began*
 * sees every revocation whose append completed before it began — that is the
 * "at once" guarantee — and costs one kv read when nothing is missing.
 *
 * Syncs are coalesced: at most one runs; checks arriving meanwhile share the
 * next one (started after they arrived, so still sound). Under load one read
 * serves every request of an event-loop turn instead of one read each.
 */
import type { KvStore } from "../../kv/types.js";
import type { Clock } from "../../runtime/clock.js";

/** One revocation as stored and published. */
export interface LogEntry {
  readonly sids: readonly string[];
  /** Epoch ms until which the sids are revoked. */
  readonly until: number;
}

export const EPOCH_KEY = "revocations:epoch";
export const logKey = (n: number): string => `revocations:log:${n}`;

/** The counter never expires in practice; a reset (store flushed) is detected and handled. */
const EPOCH_TTL_MS = 100 * 365 * 86_400_000;
/** A log entry missing this long below the counter is given up (its writer failed or it expired). */
const MISSING_GRACE_MS = 5_000;
const FETCH_CHUNK = 256;

/** Parses a stored or published entry; undefined when malformed. */
export function parseEntry(raw: string, maxSidLength: number): (LogEntry & { epoch?: number }) | undefined {
  try {
    const m = JSON.parse(raw) as { sids?: unknown; until?: unknown; epoch?: unknown };
    if (!Array.isArray(m.sids) || typeof m.until !== "number") return undefined;
    const sids = m.sids.filter((s): s is string => typeof s === "string" && s.length > 0 && s.length <= maxSidLength);
    const epoch = Number.isSafeInteger(m.epoch) && (m.epoch as number) > 0 ? (m.epoch as number) : undefined;
    return { sids, until: m.until, ...(epoch === undefined ? {} : { epoch }) };
  } catch {
    return undefined;
  }
}

/** The per-instance copy of the revocation log. */
export class RevocationLog {
  /** sid → epoch ms until which it is revoked. */
  private readonly local = new Map<string, number>();
  /** Every entry with epoch ≤ applied is in `local`. */
  private applied = 0;
  /** Epochs above `applied` already in `local`. */
  private readonly received = new Set<number>();
  /** Epochs found missing, with when they were first missed. */
  private readonly missingSince = new Map<number, number>();
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** Whether a first load completed; until then a sync is a load (the counter may be far above 0). */
  private loaded = false;

  constructor(
    private readonly kv: KvStore,
    private readonly clock: Clock,
    private readonly retentionMs: number,
    private readonly maxSidLength: number,
  ) {}

  /** Whether `sid` is in the local copy at `now`. */
  has(sid: string, now: number): boolean {
    const until = this.local.get(sid);
    if (until === undefined) return false;
    if (now < until) return true;
    this.local.delete(sid);
    return false;
  }

  get size(): number {
    return this.local.size;
  }

  /** Appends an entry to the kv log; returns its epoch. Resolves once it is durable in kv. */
  async append(entry: LogEntry): Promise<number> {
    const epoch = await this.kv.increment(EPOCH_KEY, 1, EPOCH_TTL_MS);
    await this.kv.set(logKey(epoch), JSON.stringify(entry), { ttlMs: this.retentionMs });
    this.apply(entry, epoch);
    return epoch;
  }

  /** Adds an entry to the local copy (from pub/sub, a fetch or this instance's append). */
  apply(entry: LogEntry, epoch?: number): void {
    const now = this.clock.now();
    if (entry.until > now) {
      for (const sid of entry.sids) {
        this.local.delete(sid); // re-insert: the map stays ordered by expiry
        this.local.set(sid, entry.until);
      }
    }
    if (epoch !== undefined && epoch > this.applied) {
      this.received.add(epoch);
      this.missingSince.delete(epoch);
      this.advance();
    }
    this.prune(now);
  }

  /**
   * A sync that starts after this call (see the module comment); rejects when
   * kv fails. Before a first load has succeeded (the store was down at start)
   * it loads instead, walking down from the counter as `load` does.
   */
  syncAfterNow(): Promise<void> {
    if (!this.running) {
      this.running = this.runSync();
      return this.running;
    }
    // One is running and may have read the counter before this call: wait for the next one,
    // which every caller arriving until it starts shares.
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        this.running = this.runSync();
        return this.running;
      });
    return this.next;
  }

  private async runSync(): Promise<void> {
    try {
      await this.sync();
    } finally {
      // With a sync queued, `running` stays set until that one replaces it, so callers keep joining the queue.
      if (!this.next) this.running = undefined;
    }
  }

  /**
   * First load: takes the counter and fetches the live entries below it,
   * walking down until a whole chunk has expired. Entries expire in epoch
   * order, so everything below the lowest live one is gone; entries missing
   * above it are still being written and are retried by later syncs.
   */
  async load(): Promise<void> {
    const epoch = Number((await this.kv.get(EPOCH_KEY)) ?? 0);
    let lowest = epoch + 1;
    for (let top = epoch; top > 0; top -= FETCH_CHUNK) {
      const from = Math.max(1, top - FETCH_CHUNK + 1);
      const found = await this.fetch(from, top);
      if (found === 0 && top < epoch) break;
      for (let n = from; n <= top; n++) if (this.received.has(n)) lowest = Math.min(lowest, n);
    }
    // Nothing live: everything expired, and a revocation being written now arrives by pub/sub (subscribed before this).
    const floor = lowest > epoch ? epoch : lowest - 1;
    for (const n of [...this.missingSince.keys()]) if (n <= floor) this.missingSince.delete(n);
    this.applied = Math.max(this.applied, floor);
    for (const n of [...this.received]) if (n <= this.applied) this.received.delete(n);
    this.advance();
    this.loaded = true;
  }

  private async sync(): Promise<void> {
    if (!this.loaded) return this.load();
    const epoch = Number((await this.kv.get(EPOCH_KEY)) ?? 0);
    if (epoch < this.applied) {
      // The store lost its state (flushed or failed over without persistence): start over from its counter.
      this.applied = epoch;
      this.received.clear();
      this.missingSince.clear();
      return;
    }
    for (let from = this.applied + 1; from <= epoch; from += FETCH_CHUNK) await this.fetch(from, Math.min(epoch, from + FETCH_CHUNK - 1));
    this.advance();
  }

  /** Fetches the entries in [from, to] not yet received; returns how many were found. */
  private async fetch(from: number, to: number): Promise<number> {
    const wanted: number[] = [];
    for (let n = from; n <= to; n++) if (n > this.applied && !this.received.has(n)) wanted.push(n);
    const values = await Promise.all(wanted.map((n) => this.kv.get(logKey(n))));
    const now = this.clock.now();
    let found = 0;
    values.forEach((raw, i) => {
      const n = wanted[i]!;
      const entry = raw === null ? undefined : parseEntry(raw, this.maxSidLength);
      if (entry) {
        found++;
        this.apply(entry, n);
        return;
      }
      // Missing: not written yet (its revoke has not returned), expired, or its writer failed.
      const since = this.missingSince.get(n);
      if (since === undefined) this.missingSince.set(n, now);
      else if (now - since >= MISSING_GRACE_MS) {
        this.missingSince.delete(n);
        this.received.add(n);
      }
    });
    return found;
  }

  private advance(): void {
    while (this.received.has(this.applied + 1)) {
      this.received.delete(this.applied + 1);
      this.applied++;
    }
  }

  private prune(now: number): void {
    for (const [sid, until] of this.local) {
      if (until > now) break;
      this.local.delete(sid);
    }
  }

  clear(): void {
    this.local.clear();
  }
}
