/**
 * Dispatch of inbox events to the handlers a host registers
 * (`webhooks.on("payments", handler)` or `"*"` for every endpoint).
 *
 * Claiming is one statement: `update ... where id in (select ... for update
 * skip locked) returning ...`. Rows locked by another instance's claim are
 * skipped, and a claimed row is `processing` with a lease (`locked_until`),
 * so several instances (or several drains in one) never run one event twice
 * at the same time; a claim whose instance died is picked up again once its
 * lease has passed. The finishing update only applies while the claim is
 * still the one this drain made (same attempt number, still processing).
 *
 * Each handler runs through a resilience upstream (`webhooks.<endpoint>`:
 * timeout, circuit breaker; no in-call retries, the retries are ours and
 * persisted), registered in the runtime's upstream registry so `/metrics`
 * shows it and every dispatcher of the runtime shares its breaker. A failed attempt moves the event to `failed`, due again after
 * an exponential backoff with jitter; after `maxAttempts` it is `dead` and a
 * `webhook.dead-lettered` event is emitted. Delivery is at least once:
 * handlers must be idempotent (the event id is the natural key).
 */
import { runWithContext } from "../context/index.js";
import type { Kysely, Updateable } from "kysely";
import type { Keyring } from "../crypto/index.js";
import type { Tables, WebhookEventsTable } from "../db/tables.js";
import type { SecurityEvents } from "../events/index.js";
import type { Logger } from "../log/index.js";
import { UpstreamRegistry, type Upstream } from "../resilience/index.js";
import { payloadContext } from "./inbox.js";

/** What a handler receives. */
export interface WebhookEvent {
  /** The inbox row id (the admin API's id). */
  id: string;
  endpoint: string;
  provider: string;
  /**
   * The event's key, from signed content only (Standard Webhooks' `webhook-id`,
   * Stripe's body `id`, `sha256:<hex>` of a GitHub body): the natural
   * idempotency key for a handler's own effects.
   */
  eventId: string;
  /** The delivery id header as received (`X-GitHub-Delivery`, `webhook-id`): unsigned for GitHub, for logs only. */
  deliveryId: string | null;
  /** Stripe's and Standard Webhooks' signed body `type`; GitHub's unsigned `X-GitHub-Event` of the first delivery. */
  type: string | null;
  /** The raw payload exactly as received and verified. */
  payload: Buffer;
  /** 1 for the first attempt. */
  attempt: number;
  /** Fires when the attempt times out; a handler should stop then. */
  signal: AbortSignal;
}

export type WebhookHandler = (event: WebhookEvent) => Promise<void> | void;

export interface DispatcherOptions {
  db: Kysely<Tables>;
  crypto: Pick<Keyring, "decrypt">;
  events: Pick<SecurityEvents, "emit">;
  log: Logger;
  now: () => number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  handlerTimeoutMs: number;
  /** Random source in [0, 1) for the jitter (tests pin it). */
  random?: () => number;
  /** Rows claimed per statement (default 10). */
  batchSize?: number;
  /** Where the `webhooks.<endpoint>` upstreams live (the runtime's); default a registry of this dispatcher's own. */
  upstreams?: UpstreamRegistry;
}

const TABLE = "rampart_webhook_events";

/** Delay before attempt `attempt + 1`: base·2^(attempt-1), capped, then "equal jitter" (half fixed, half random). */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

export class WebhookDispatcher {
  private readonly handlers = new Map<string, WebhookHandler[]>();
  private readonly upstreams: UpstreamRegistry;
  private running: Promise<number> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: DispatcherOptions) {
    this.upstreams = o.upstreams ?? new UpstreamRegistry({ log: o.log });
  }

  /** Registers a handler for an endpoint name, or `"*"` for all; returns a function that removes it. */
  on(endpoint: string, handler: WebhookHandler): () => void {
    const list = this.handlers.get(endpoint) ?? [];
    list.push(handler);
    this.handlers.set(endpoint, list);
    return () => {
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Polls for due events every `intervalMs` (unref'd timer) until `close`. */
  start(intervalMs: number): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.kick(), intervalMs);
    this.timer.unref();
  }

  /** Starts a drain in the background (coalesced with one already running). */
  kick(): void {
    if (this.closed) return;
    void this.drain().catch((err: unknown) => this.o.log.error({ err }, "webhook dispatch failed"));
  }

  /** Processes every due event; resolves with how many attempts were made. Concurrent calls share one drain. */
  drain(): Promise<number> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let total = 0;
      try {
        do {
          this.again = false;
          for (let n = await this.runBatch(); n > 0 && !this.closed; n = await this.runBatch()) total += n;
        } while (this.again && !this.closed);
      } finally {
        this.running = null;
      }
      return total;
    })();
    return this.running;
  }

  /** Stops polling and waits for the drain in progress. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private upstream(endpoint: string): Upstream {
    return this.upstreams.ensure(`webhooks.${endpoint}`, { timeoutMs: this.o.handlerTimeoutMs, retries: 0, log: this.o.log });
  }

  /** Claims up to batchSize due rows and runs them; returns how many were claimed. */
  async runBatch(): Promise<number> {
    const now = new Date(this.o.now());
    // The lease outlives every handler's timeout, so a live attempt is never claimed twice.
    const lease = new Date(now.getTime() + Math.max(60_000, 3 * this.o.handlerTimeoutMs));
    const rows = await this.o.db
      .updateTable(TABLE)
      .set((eb) => ({ state: "processing", locked_until: lease, attempts: eb("attempts", "+", 1) }))
      .where("id", "in", (eb) =>
        eb
          .selectFrom(TABLE)
          .select("id")
          .where((w) => w.or([w.and([w("state", "in", ["received", "failed"]), w("next_attempt_at", "<=", now)]), w.and([w("state", "=", "processing"), w("locked_until", "<", now)])]))
          .orderBy("next_attempt_at")
          .limit(this.o.batchSize ?? 10)
          .forUpdate()
          .skipLocked(),
      )
      .returning(["id", "endpoint", "provider", "event_id", "delivery_id", "event_type", "attempts", "payload_enc", "trace_id"])
      .execute();
    // Each attempt runs under the trace of the request that delivered the event: the handler's logs,
    // events and outbound calls (traceHeaders) carry it, on whichever instance and attempt.
    for (const row of rows) await (row.trace_id === null ? this.attempt(row) : runWithContext({ traceId: row.trace_id }, () => this.attempt(row)));
    return rows.length;
  }

  private async attempt(row: { id: string; endpoint: string; provider: string; event_id: string; delivery_id: string | null; event_type: string | null; attempts: number; payload_enc: string; trace_id: string | null }): Promise<void> {
    const handlers = [...(this.handlers.get(row.endpoint) ?? []), ...(this.handlers.get("*") ?? [])];
    let error: unknown = null;
    try {
      const payload = await this.o.crypto.decrypt(row.payload_enc, payloadContext(row.id));
      const upstream = this.upstream(row.endpoint);
      for (const handler of handlers) {
        await upstream.execute(
          async (signal) => handler({ id: row.id, endpoint: row.endpoint, provider: row.provider, eventId: row.event_id, deliveryId: row.delivery_id, type: row.event_type, payload, attempt: row.attempts, signal }),
          { idempotent: false },
        );
      }
    } catch (err) {
      error = err;
    }
    const at = new Date(this.o.now());
    // Applies only while the claim is still this attempt's (an expired lease may have been re-claimed).
    const finish = (set: Updateable<WebhookEventsTable>) =>
      this.o.db.updateTable(TABLE).set(set).where("id", "=", row.id).where("state", "=", "processing").where("attempts", "=", row.attempts).executeTakeFirst();
    if (error === null) {
      await finish({ state: "processed", processed_at: at, locked_until: null, last_error: null });
      return;
    }
    const message = describe(error);
    this.o.log.warn({ err: error, webhookEvent: row.id, endpoint: row.endpoint, attempt: row.attempts }, "webhook handler failed");
    if (row.attempts >= this.o.maxAttempts) {
      const res = await finish({ state: "dead", locked_until: null, last_error: message });
      if (Number(res.numUpdatedRows) > 0) {
        await this.o.events.emit("webhook.dead-lettered", { actor: { type: "system" }, target: `webhook-event:${row.id}`, data: { endpoint: row.endpoint, eventId: row.event_id, attempts: row.attempts } });
      }
      return;
    }
    const next = new Date(at.getTime() + retryDelayMs(row.attempts, this.o.retryBaseMs, this.o.retryMaxMs, this.o.random ?? Math.random));
    await finish({ state: "failed", next_attempt_at: next, locked_until: null, last_error: message });
  }
}

/** A short, bounded description of a handler failure for the admin view (no stack). */
function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.slice(0, 500);
}
