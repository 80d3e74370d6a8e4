/**
 * The audit log: appends (in the caller's transaction, serialized across
 * instances by a row lock on the chain head), verification of the whole
 * chain or of its tail since a verified head (`verifier` keeps doing the
 * latter), and filtered, cursor-paginated reads.
 */
import { sql, type Kysely, type Transaction } from "kysely";
import type { BlindIndex } from "../crypto/index.js";
import type { Tables } from "../db/index.js";
import type { Clock } from "../runtime/clock.js";
import { canonicalJson, entryHash, type ChainEntry } from "./chain.js";
import { AuditVerifier, type VerifyOptions, type VerifyResult } from "./verifier.js";

export const GENESIS_HASH = "0".repeat(64);

export interface AuditInput {
  actorType: string;
  actorId?: string | undefined;
  action: string;
  target?: string | undefined;
  ip?: string | undefined;
  traceId?: string | undefined;
  data?: Record<string, unknown> | undefined;
}

export interface AuditQuery {
  actorId?: string;
  action?: string;
  target?: string;
  from?: Date;
  to?: Date;
  /** Entries with seq below this (newest first). */
  before?: number;
  limit: number;
}

export class AuditLog {
  /** Incremental verification of this chain, with the stats metrics read. */
  readonly verifier: AuditVerifier;

  /**
   * @param ipIndex keyed hash (blind index) for client IPs: entries are
   *   append-only, so personal data goes in only as a pseudonym that links
   *   entries from one address without revealing it; it needs no key lookup,
   *   so an append inside any transaction touches nothing but its own rows.
   */
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly ipIndex: BlindIndex,
    private readonly clock: Clock,
  ) {
    this.verifier = new AuditVerifier(this, clock);
  }

  /** Appends one entry inside `trx` (the transaction of the change it records). */
  async append(trx: Transaction<Tables>, input: AuditInput): Promise<{ seq: number; hash: string }> {
    const head = await sql<{ seq: number; hash: string }>`select seq, hash from rampart_audit_head where id = 1 for update`.execute(trx);
    const prev = head.rows[0];
    if (!prev) throw new Error("audit chain head is missing (migration 0010-audit not applied?)");
    const seq = Number(prev.seq) + 1;
    const ipHash = input.ip ? this.ipIndex.compute(input.ip) : null;
    const entry: ChainEntry = {
      seq,
      at: new Date(this.clock.now()),
      actorType: input.actorType,
      actorId: input.actorId ?? null,
      action: input.action,
      target: input.target ?? null,
      ipHash,
      traceId: input.traceId ?? null,
      data: canonicalJson(input.data ?? {}),
    };
    const hash = entryHash(prev.hash, entry);
    await trx
      .insertInto("rampart_audit_log")
      .values({ seq, at: entry.at, actor_type: entry.actorType, actor_id: entry.actorId, action: entry.action, target: entry.target, ip_hash: ipHash, trace_id: entry.traceId, data: entry.data, prev_hash: prev.hash, hash })
      .execute();
    await trx.updateTable("rampart_audit_head").set({ seq, hash }).where("id", "=", 1).execute();
    return { seq, hash };
  }

  /** Appends in a transaction of its own (events that change nothing in the database). */
  appendNow(input: AuditInput): Promise<{ seq: number; hash: string }> {
    return this.db.transaction().execute((trx) => this.append(trx, input));
  }

  async head(): Promise<{ seq: number; hash: string }> {
    const row = await this.db.selectFrom("rampart_audit_head").select(["seq", "hash"]).where("id", "=", 1).executeTakeFirstOrThrow();
    return { seq: Number(row.seq), hash: row.hash };
  }

  /**
   * Walks the chain from the first entry: sequence numbers must be 1, 2, 3…
   * without gaps, each prev_hash the previous hash, each hash recomputed; the
   * last entry must match the head row, and `expectHead` (a head seen earlier,
   * e.g. in the log) must still be in the chain — that catches a truncated tail.
   * With `from` (a head verified earlier) the walk starts after it, once that
   * entry is found with the same hash; `entries` counts the entries walked.
   */
  async verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    const batch = options.batchSize ?? 1000;
    if (options.from && options.expectHead) throw new TypeError("audit verify: `from` and `expectHead` are not combined; verify from the start to check an earlier head");
    const from = options.from && options.from.seq > 0 ? options.from : undefined;
    if (from) {
      const row = await this.db.selectFrom("rampart_audit_log").select("hash").where("seq", "=", from.seq).executeTakeFirst();
      if (!row) return { ok: false, entries: 0, firstBadSeq: from.seq, reason: `entry ${from.seq}, verified earlier, is missing (entries removed)` };
      if (row.hash !== from.hash) return { ok: false, entries: 0, firstBadSeq: from.seq, reason: `entry ${from.seq} differs from when it was verified (history rewritten)` };
    }
    let expectedSeq = from ? from.seq + 1 : 1;
    let prevHash = from ? from.hash : GENESIS_HASH;
    // The head is read first and the walk stops at it: entries appended while the walk runs
    // (the head row moves in the transaction that inserts them) are left for the next run.
    const head = await this.head();
    const total = Number((await this.db.selectFrom("rampart_audit_log").select((eb) => eb.fn.countAll().as("n")).where("seq", ">=", expectedSeq).where("seq", "<=", head.seq).executeTakeFirstOrThrow()).n);
    let done = 0;
    let seenExpected = options.expectHead === undefined || options.expectHead.seq === 0;
    for (;;) {
      const rows = await this.db.selectFrom("rampart_audit_log").selectAll().where("seq", ">=", expectedSeq).where("seq", "<=", head.seq).orderBy("seq").limit(batch).execute();
      if (rows.length === 0) break;
      for (const r of rows) {
        const seq = Number(r.seq);
        if (seq !== expectedSeq) return { ok: false, entries: done, firstBadSeq: expectedSeq, reason: `entry ${expectedSeq} is missing (next is ${seq})` };
        if (r.prev_hash !== prevHash) return { ok: false, entries: done, firstBadSeq: seq, reason: "does not link to the previous entry (removed or reordered)" };
        const recomputed = entryHash(prevHash, { seq, at: r.at, actorType: r.actor_type, actorId: r.actor_id, action: r.action, target: r.target, ipHash: r.ip_hash, traceId: r.trace_id, data: r.data });
        if (recomputed !== r.hash) return { ok: false, entries: done, firstBadSeq: seq, reason: "content does not match its hash (altered)" };
        if (options.expectHead && seq === options.expectHead.seq) {
          if (r.hash !== options.expectHead.hash) return { ok: false, entries: done, firstBadSeq: seq, reason: "differs from the head recorded earlier" };
          seenExpected = true;
        }
        prevHash = r.hash;
        expectedSeq = seq + 1;
        done++;
      }
      options.onProgress?.(done, total);
    }
    if (head.seq !== expectedSeq - 1 || head.hash !== prevHash) {
      return { ok: false, entries: done, firstBadSeq: Math.min(head.seq, expectedSeq), reason: `the chain ends at ${expectedSeq - 1} but the head says ${head.seq} (entries removed from the tail?)` };
    }
    if (!seenExpected) return { ok: false, entries: done, firstBadSeq: expectedSeq, reason: `the chain ends at ${expectedSeq - 1}, before the head ${options.expectHead!.seq} recorded earlier (tail truncated)` };
    return { ok: true, entries: done, head };
  }

  async query(q: AuditQuery) {
    let s = this.db.selectFrom("rampart_audit_log").select(["seq", "at", "actor_type", "actor_id", "action", "target", "trace_id", "data", "hash"]);
    if (q.actorId !== undefined) s = s.where("actor_id", "=", q.actorId);
    if (q.action !== undefined) s = s.where("action", "=", q.action);
    if (q.target !== undefined) s = s.where("target", "=", q.target);
    if (q.from !== undefined) s = s.where("at", ">=", q.from);
    if (q.to !== undefined) s = s.where("at", "<", q.to);
    if (q.before !== undefined) s = s.where("seq", "<", q.before);
    const rows = await s.orderBy("seq", "desc").limit(q.limit + 1).execute();
    const page = rows.slice(0, q.limit);
    return {
      entries: page.map((r) => ({
        seq: Number(r.seq),
        at: r.at.toISOString(),
        actor: { type: r.actor_type, id: r.actor_id },
        action: r.action,
        target: r.target,
        traceId: r.trace_id,
        data: JSON.parse(r.data) as Record<string, unknown>,
        hash: r.hash,
      })),
      nextCursor: rows.length > q.limit ? String(Number(page[page.length - 1]!.seq)) : null,
    };
  }
}
