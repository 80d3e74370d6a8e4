/**
 * The mail outbox: a message is written to `rampart_outbox` in the same
 * transaction as the change that sends it (so a rolled-back change sends
 * nothing and a crash after commit still sends), encrypted under the
 * recipient's key (it holds their address and, for resets, a live link). A
 * delivery loop claims due rows with `FOR UPDATE SKIP LOCKED` — several
 * instances never send one message twice — sends, and clears the content;
 * failures back off exponentially.
 *
 * While the SMTP upstream's circuit breaker is open, a send is refused
 * without reaching the server: that is not the message's failure, so the
 * row keeps its attempts and stays due, and the drain stops; the next poll
 * tries again (refused at once until the breaker lets a trial send through).
 */
import { currentContext } from "../context/index.js";
import { randomUUID } from "node:crypto";
import { sql, type Insertable, type Kysely, type Transaction } from "kysely";
import type { Keyring } from "../crypto/index.js";
import type { Tables } from "../db/index.js";
import type { OutboxTable } from "../db/tables.js";
import type { Logger } from "../log/index.js";
import { upstreamFailure } from "../resilience/index.js";
import type { MailMessage, MailTransport } from "./transport.js";

const context = (id: string) => ({ table: "rampart_outbox", column: "message", id });
const MAX_ATTEMPTS = 8;

export interface OutboxOptions {
  db: Kysely<Tables>;
  keyring: Keyring;
  transport: MailTransport;
  log: Logger;
  now: () => number;
  pollIntervalMs?: number;
}

export class Outbox {
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<number> | undefined;
  private stopped = false;

  constructor(private readonly o: OutboxOptions) {}

  /**
   * Encrypts a message for `userId` and returns the row to insert with
   * `enqueue` inside the transaction of the change that sends it (encrypt first:
   * the keyring may use the database, which a transaction holds in embedded mode).
   */
  async prepare(userId: string, kind: string, message: MailMessage): Promise<Insertable<OutboxTable>> {
    const id = randomUUID();
    const message_enc = await this.o.keyring.encryptFor(userId, JSON.stringify(message), context(id));
    return { id, user_id: userId, kind, message_enc, created_at: new Date(this.o.now()), next_attempt_at: new Date(this.o.now()), trace_id: currentContext()?.traceId ?? null };
  }

  /** Queues a prepared message inside the caller's transaction. */
  async enqueue(trx: Transaction<Tables> | Kysely<Tables>, row: Insertable<OutboxTable>): Promise<void> {
    await trx.insertInto("rampart_outbox").values(row).execute();
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.kick(), this.o.pollIntervalMs ?? 2_000);
    this.timer.unref();
  }

  /** Delivers due messages now (also called right after an enqueue commits). */
  kick(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    this.draining ??= this.drain()
      .catch((err: unknown) => {
        this.o.log.warn({ err }, "outbox delivery failed");
        return 0;
      })
      .finally(() => (this.draining = undefined));
    return this.draining;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.draining;
  }

  private async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const done = await this.o.db.transaction().execute(async (trx) => {
        const row = await sql<{ id: string; user_id: string | null; kind: string; message_enc: string | null; attempts: number; trace_id: string | null }>`
          select id, user_id, kind, message_enc, attempts, trace_id from rampart_outbox
          where sent_at is null and message_enc is not null and next_attempt_at <= ${new Date(this.o.now())}
          order by next_attempt_at limit 1 for update skip locked`.execute(trx);
        const r = row.rows[0];
        if (!r) return undefined;
        // Logged under the trace of the request that queued it, whenever and wherever it is delivered.
        const trace = r.trace_id === null ? {} : { traceId: r.trace_id };
        try {
          if (!r.user_id || !r.message_enc) throw new Error("message has no recipient key");
          const message = JSON.parse(await this.o.keyring.decryptStringFor(r.user_id, r.message_enc, context(r.id))) as MailMessage;
          await this.o.transport.send(message);
          await trx.updateTable("rampart_outbox").set({ sent_at: new Date(this.o.now()), message_enc: null, attempts: r.attempts + 1, last_error: null }).where("id", "=", r.id).execute();
          this.o.log.info({ ...trace, outboxId: r.id, kind: r.kind, transport: this.o.transport.kind }, "mail sent");
          return true;
        } catch (err) {
          if (upstreamFailure(err)?.kind === "breaker_open") {
            this.o.log.debug({ ...trace, outboxId: r.id, kind: r.kind }, "mail delivery deferred: the SMTP circuit breaker is open");
            return "deferred" as const;
          }
          const attempts = r.attempts + 1;
          const giveUp = attempts >= MAX_ATTEMPTS;
          const backoffMs = Math.min(2 ** attempts * 1000, 3_600_000);
          await trx
            .updateTable("rampart_outbox")
            .set({ attempts, last_error: upstreamFailure(err)?.message ?? (err instanceof Error ? err.name : "error"), next_attempt_at: new Date(this.o.now() + backoffMs), ...(giveUp ? { message_enc: null } : {}) })
            .where("id", "=", r.id)
            .execute();
          this.o.log.warn({ ...trace, outboxId: r.id, kind: r.kind, attempts, giveUp, err: { message: err instanceof Error ? err.message : String(err) } }, "mail delivery failed");
          return false;
        }
      });
      if (done === undefined || done === "deferred") return sent;
      if (done) sent++;
    }
  }
}
