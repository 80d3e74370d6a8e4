/**
 * The session revocation list: a revoked session's access tokens are refused
 * on every instance at once, without a database query per request.
 *
 * Storage (revocation-log.ts): an append-only log in the kv store, one entry
 * per revoke, kept for the access-token lifetime plus skew (after that every
 * token of the session is refused as expired anyway, RFC 7519 §4.1.4), and a
 * copy of it in each instance's memory, fed by the `revocations` channel.
 *
 * Consistency ("refused on every instance at once", i.e. on a request that
 * reaches another instance right after the logout response): pub/sub alone
 * is not enough — delivery is asynchronous, so that request could be checked
 * before the message is read, and a reconnecting subscriber misses messages.
 * `revoke` resolves only once its log entry is durable in kv. In `strict`
 * mode (the default) a check that does not find the sid locally runs a sync
 * that starts after the check began: it reads the log's counter and fetches
 * any entry it lacks, so it sees every revoke that completed before the
 * request arrived. That is one kv read (a Map lookup in embedded mode), never
 * a database query, and concurrent checks share it. `pubsub` mode answers
 * from the local copy alone (a revoke then takes effect when its message
 * arrives, typically well under a millisecond) and resyncs on an interval.
 *
 * Revoking all of a user's sessions is done by their sids (the sessions table
 * lists them): exact per session, whereas a per-user "revoked before" time
 * compared with the whole-second `iat` would also refuse a new login made in
 * the same second (or miss a token of the old session issued in it).
 *
 * When the kv store cannot be read (freshness.ts), checks answer from the
 * local copy for at most `staleMaxMs` after the last successful sync, then
 * fail closed (`503 SERVICE_UNAVAILABLE` with `Retry-After`). What that
 * window means: a session revoked on *another* instance during the outage
 * (its revoke reached the kv log, this instance could not read it) may still
 * be accepted here until the bound runs out — at most `staleMaxMs` after this
 * instance last saw the whole log. Revocations this instance saw before the
 * outage, and the ones made on it during the outage, are refused throughout;
 * every token expires after the access-token lifetime whatever happens.
 * With `staleMaxMs` 0 a check that cannot reach the log fails closed at once.
 * While degraded, checks do not wait on the store: one background sync at a
 * time retries it, and the list trusts itself again only once a sync has
 * succeeded, i.e. has fetched every revocation it missed.
 *
 * A revoke while the kv store is down cannot be made durable, so it is never
 * acknowledged: it fails with `503`. It still takes effect on this instance
 * at once, and is written to the kv log when the store is back (while this
 * process lives), so the other instances learn it then.
 */
import { RampartError } from "../../errors/index.js";
import type { HealthCheck } from "../../health/checks.js";
import type { KvStore, Unsubscribe } from "../../kv/types.js";
import type { Logger } from "../../log/index.js";
import type { Clock } from "../../runtime/clock.js";
import { Freshness, revocationReadiness, type RevocationHealth } from "./freshness.js";
import { parseEntry, RevocationLog, type LogEntry } from "./revocation-log.js";

/** The kv pub/sub channel carrying revocations to every instance. */
export const REVOCATIONS_CHANNEL = "revocations";

/** Default bound on the staleness of the local copy while the kv store is unreachable. */
export const DEFAULT_STALE_MAX_MS = 30_000;

/** What a client refused because the list cannot be trusted is told to wait, in seconds. */
export const REVOCATION_RETRY_AFTER_SECONDS = 5;

/** While degraded, the store is tried again at most this often (ms). */
const RETRY_INTERVAL_MS = 1_000;

const MAX_SID_LENGTH = 256;

/** `strict`: a local miss is confirmed against the kv log; `pubsub`: the local copy only. */
export type RevocationConsistency = "strict" | "pubsub";

/** What the revocation list needs. */
export interface RevocationListOptions {
  readonly kv: KvStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Access-token lifetime plus clock skew, in ms: how long a revocation must be kept. */
  readonly retentionMs: number;
  readonly consistency?: RevocationConsistency;
  /** Background resync with the kv log (default 10 000 ms; 0 = off); recovers messages missed while disconnected. */
  readonly syncIntervalMs?: number;
  /**
   * How long after its last successful sync the local copy keeps answering
   * while the kv store is unreachable (default 30 000 ms; 0 = fail closed at
   * once). In `pubsub` mode the copy may already lag by one resync interval,
   * which is added.
   */
  readonly staleMaxMs?: number;
}

/** The check the token verifier calls on every request. */
export interface RevocationCheck {
  /** Throws RampartError `TOKEN_REVOKED` when the session was revoked. */
  assertNotRevoked(sid: string): Promise<void>;
}

function assertSid(sid: string): void {
  if (typeof sid !== "string" || sid.length === 0 || sid.length > MAX_SID_LENGTH) throw new TypeError(`sid must be a string of 1 to ${MAX_SID_LENGTH} characters, instead got '${String(sid)}'`);
}

const unavailable = (cause: unknown) => new RampartError("SERVICE_UNAVAILABLE", { headers: { "retry-after": String(REVOCATION_RETRY_AFTER_SECONDS) }, cause });

/** Revoked sessions shared through the kv store; one per instance. */
export class RevocationList implements RevocationCheck {
  private readonly entries: RevocationLog;
  private readonly consistency: RevocationConsistency;
  private readonly freshness: Freshness;
  /** Revocations applied here but not yet in the kv log (written when it is back). */
  private readonly pending: LogEntry[] = [];
  private unsubscribe: Unsubscribe | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastError: unknown;
  private retryAt = 0;
  private retrying = false;
  private writing = false;
  private pendingRetryAt = 0;
  private closedLogged = false;

  private constructor(private readonly options: RevocationListOptions) {
    if (!(options.retentionMs > 0)) throw new RangeError(`retentionMs must be > 0, instead got ${options.retentionMs}`);
    this.consistency = options.consistency ?? "strict";
    const staleMaxMs = options.staleMaxMs ?? DEFAULT_STALE_MAX_MS;
    if (!Number.isSafeInteger(staleMaxMs) || staleMaxMs < 0) throw new RangeError(`staleMaxMs must be an integer >= 0, instead got ${staleMaxMs}`);
    const lag = this.consistency === "pubsub" ? (options.syncIntervalMs ?? 10_000) : 0;
    this.freshness = new Freshness(options.clock, staleMaxMs + lag);
    this.entries = new RevocationLog(options.kv, options.clock, options.retentionMs, MAX_SID_LENGTH);
  }

  /** Creates the list: subscribes, then loads the live revocations from the kv log. */
  static async create(options: RevocationListOptions): Promise<RevocationList> {
    const list = new RevocationList(options);
    // Subscribe first, so a revoke made during the load arrives by message if the load misses it.
    list.unsubscribe = await options.kv.subscribe(REVOCATIONS_CHANNEL, (raw) => {
      const m = parseEntry(raw, MAX_SID_LENGTH);
      if (m) list.entries.apply(m, m.epoch);
      else options.log.warn("malformed revocation message ignored");
    });
    // The store down at start does not stop the start: the list has never synced, so checks
    // fail closed until a sync (a full load then) succeeds.
    await list.sync().catch(() => undefined);
    const interval = options.syncIntervalMs ?? 10_000;
    if (interval > 0) {
      list.timer = setInterval(() => {
        list.sync().catch(() => undefined);
      }, interval).unref();
    }
    return list;
  }

  /** Revokes one session's access tokens on every instance; resolves once the revocation is durable in kv. */
  async revokeSession(sid: string): Promise<void> {
    await this.revokeSessions([sid]);
  }

  /**
   * Revokes several sessions in one entry (logout-all: every sid of the user
   * from the sessions table). Rejects with `SERVICE_UNAVAILABLE` when the kv
   * store cannot make it durable; the sessions are refused on this instance
   * anyway, and the entry is written to the kv log once the store is back.
   */
  async revokeSessions(sids: readonly string[]): Promise<void> {
    for (const sid of sids) assertSid(sid);
    if (sids.length === 0) return;
    const entry: LogEntry = { sids: [...sids], until: this.options.clock.now() + this.options.retentionMs };
    try {
      await this.write(entry);
    } catch (err) {
      this.entries.apply(entry);
      this.pending.push(entry);
      this.failed(err);
      this.options.log.warn({ err, sessions: sids.length }, "revocation not written to the kv store: refused on this instance now, written to the kv log once the store is back; answered 503");
      throw unavailable(err);
    }
  }

  /** Appends to the kv log and announces it; resolves once it is durable. */
  private async write(entry: LogEntry): Promise<void> {
    const epoch = await this.entries.append(entry);
    try {
      await this.options.kv.publish(REVOCATIONS_CHANNEL, JSON.stringify({ ...entry, epoch }));
    } catch (err) {
      // Strict checks read the durable log; pubsub mode catches up at its next resync.
      this.options.log.warn({ err }, "could not publish a revocation; other instances read it from the kv log");
    }
  }

  /** Whether the session is revoked. */
  async isRevoked(sid: string): Promise<boolean> {
    if (this.entries.has(sid, this.options.clock.now())) return true;
    if (this.consistency === "strict" && !this.freshness.failing) {
      try {
        await this.sync();
        return this.entries.has(sid, this.options.clock.now());
      } catch {
        // Recorded by sync(); answered below from the local copy, within the bound.
      }
    }
    if (this.freshness.failing) {
      this.syncInBackground();
      this.assertUsable();
    }
    return this.entries.has(sid, this.options.clock.now());
  }

  async assertNotRevoked(sid: string): Promise<void> {
    if (await this.isRevoked(sid)) throw new RampartError("TOKEN_REVOKED");
  }

  /** Throws 503 once the local copy is past the staleness bound. */
  private assertUsable(): void {
    if (this.freshness.usable(this.options.clock.now())) return;
    if (!this.closedLogged) {
      this.closedLogged = true;
      this.options.log.error({ staleMaxMs: this.freshness.staleMaxMs }, "revocation list past its staleness bound: authenticated requests fail closed (503) until the kv store is back");
    }
    throw unavailable(this.lastError);
  }

  /**
   * One sync with the kv log, recorded: a success moves the staleness
   * reference to its start and ends an outage (writing the revocations made
   * here meanwhile); a failure starts one.
   */
  private async sync(): Promise<void> {
    const started = this.options.clock.now();
    try {
      await this.entries.syncAfterNow();
    } catch (err) {
      this.failed(err);
      throw err;
    }
    const since = this.freshness.synced(started);
    if (since !== null) {
      this.closedLogged = false;
      this.options.log.info({ downMs: this.options.clock.now() - since }, "revocation list in sync with the kv store again");
    }
    // Not awaited: a check does not wait for these writes (each is tried again at most once a second).
    if (this.pending.length > 0 && this.options.clock.now() >= this.pendingRetryAt) void this.writePending();
  }

  private failed(err: unknown): void {
    this.lastError = err;
    this.retryAt = this.options.clock.now() + RETRY_INTERVAL_MS;
    if (!this.freshness.failed()) return;
    const h = this.health();
    this.options.log.warn(
      { err, staleMaxMs: h.staleMaxMs, remainingMs: h.remainingMs },
      h.state === "stale" ? "kv store unreachable: revocation checks answer from this instance's copy until the staleness bound, then fail closed" : "kv store unreachable: revocation checks fail closed",
    );
  }

  /** One sync at a time, at most every RETRY_INTERVAL_MS after a failure; nothing waits for it. */
  private syncInBackground(): void {
    if (this.retrying || this.options.clock.now() < this.retryAt) return;
    this.retrying = true;
    this.sync()
      .catch(() => undefined)
      .finally(() => {
        this.retrying = false;
      });
  }

  /** Writes the revocations made here while the store was down; what fails stays pending. One writer at a time. */
  private async writePending(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      await this.writeEach();
    } finally {
      this.writing = false;
    }
  }

  private async writeEach(): Promise<void> {
    while (this.pending.length > 0) {
      const entry = this.pending[0]!;
      if (entry.until > this.options.clock.now()) {
        try {
          await this.write(entry);
        } catch (err) {
          this.pendingRetryAt = this.options.clock.now() + RETRY_INTERVAL_MS;
          this.options.log.warn({ err, pending: this.pending.length }, "revocations made while the kv store was down not written yet; retried at a later sync");
          return;
        }
      }
      this.pending.shift();
    }
  }

  /** Freshness of the local copy, for readiness and metrics. */
  health(): RevocationHealth {
    return this.freshness.health(this.options.clock.now(), this.pending.length);
  }

  /**
   * Readiness probe `revocations`: `pass` while in sync; `warn` while the kv
   * store is unreachable and the copy answers within the bound (the instance
   * serves); `fail` once checks fail closed. It never waits on the store (a
   * store that does not answer would only time the probe out): it starts a
   * background sync and reports the state, so without traffic a lost store
   * shows at the next probe, and readiness clears once the store is back.
   */
  healthCheck(): HealthCheck {
    return {
      name: "revocations",
      probe: async () => {
        this.syncInBackground();
        return revocationReadiness(this.health());
      },
    };
  }

  /** Number of revoked sessions in the local copy. */
  get localEntries(): number {
    return this.entries.size;
  }

  /** Stops listening and the resync timer. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const u = this.unsubscribe;
    this.unsubscribe = undefined;
    await u?.();
    const lost = this.pending.filter((e) => e.until > this.options.clock.now()).length;
    if (lost > 0) this.options.log.warn({ revocations: lost }, "revocations made while the kv store was down were never written to it; other instances accept their access tokens until they expire");
    this.pending.length = 0;
    this.entries.clear();
  }
}
