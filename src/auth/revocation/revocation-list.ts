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
 * A kv failure during a strict check fails closed (`SERVICE_UNAVAILABLE`).
 */
import { RampartError } from "../../errors/index.js";
import type { KvStore, Unsubscribe } from "../../kv/types.js";
import type { Logger } from "../../log/index.js";
import type { Clock } from "../../runtime/clock.js";
import { parseEntry, RevocationLog } from "./revocation-log.js";

/** The kv pub/sub channel carrying revocations to every instance. */
export const REVOCATIONS_CHANNEL = "revocations";

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
}

/** The check the token verifier calls on every request. */
export interface RevocationCheck {
  /** Throws RampartError `TOKEN_REVOKED` when the session was revoked. */
  assertNotRevoked(sid: string): Promise<void>;
}

function assertSid(sid: string): void {
  if (typeof sid !== "string" || sid.length === 0 || sid.length > MAX_SID_LENGTH) throw new TypeError(`sid must be a string of 1 to ${MAX_SID_LENGTH} characters, instead got '${String(sid)}'`);
}

/** Revoked sessions shared through the kv store; one per instance. */
export class RevocationList implements RevocationCheck {
  private readonly entries: RevocationLog;
  private readonly consistency: RevocationConsistency;
  private unsubscribe: Unsubscribe | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: RevocationListOptions) {
    if (!(options.retentionMs > 0)) throw new RangeError(`retentionMs must be > 0, instead got ${options.retentionMs}`);
    this.consistency = options.consistency ?? "strict";
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
    try {
      await list.entries.load();
    } catch (err) {
      // The store is down at start: the instance still starts. Strict checks read
      // the kv log on every local miss (failing closed while it is unreachable) and
      // the periodic resync catches up, so nothing is accepted that should not be.
      options.log.warn({ err }, "revocation list could not be loaded at start; it syncs when the kv store is back");
    }
    const interval = options.syncIntervalMs ?? 10_000;
    if (interval > 0) {
      list.timer = setInterval(() => {
        list.entries.syncAfterNow().catch((err: unknown) => options.log.warn({ err }, "revocation resync failed"));
      }, interval).unref();
    }
    return list;
  }

  /** Revokes one session's access tokens on every instance; resolves once the revocation is durable in kv. */
  async revokeSession(sid: string): Promise<void> {
    await this.revokeSessions([sid]);
  }

  /** Revokes several sessions in one entry (logout-all: every sid of the user from the sessions table). */
  async revokeSessions(sids: readonly string[]): Promise<void> {
    for (const sid of sids) assertSid(sid);
    if (sids.length === 0) return;
    const { kv, clock, retentionMs, log } = this.options;
    const entry = { sids: [...sids], until: clock.now() + retentionMs };
    const epoch = await this.entries.append(entry);
    try {
      await kv.publish(REVOCATIONS_CHANNEL, JSON.stringify({ ...entry, epoch }));
    } catch (err) {
      // Strict checks read the durable log; pubsub mode catches up at its next resync.
      log.warn({ err }, "could not publish a revocation; other instances read it from the kv log");
    }
  }

  /** Whether the session is revoked. */
  async isRevoked(sid: string): Promise<boolean> {
    if (this.entries.has(sid, this.options.clock.now())) return true;
    if (this.consistency === "pubsub") return false;
    try {
      await this.entries.syncAfterNow();
    } catch (err) {
      this.options.log.error({ err }, "revocation check failed: kv unreachable");
      throw new RampartError("SERVICE_UNAVAILABLE", { cause: err });
    }
    return this.entries.has(sid, this.options.clock.now());
  }

  async assertNotRevoked(sid: string): Promise<void> {
    if (await this.isRevoked(sid)) throw new RampartError("TOKEN_REVOKED");
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
    this.entries.clear();
  }
}
