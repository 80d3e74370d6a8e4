/**
 * The inbox of inbound webhook events: one row per (provider, event id).
 *
 * `store` is one `insert ... on conflict do nothing`: of any number of
 * concurrent deliveries of one event (a provider's retry racing the first
 * delivery, an attacker replaying a captured one), exactly one inserts the
 * row and the others see `duplicate: true`, on one instance or many, because
 * the unique constraint is the arbiter. The raw payload is encrypted
 * (`rp1:`, context `{ table, column, id }`) before the statement, so a
 * database dump holds no personal data a provider sent.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { Keyring } from "../crypto/index.js";
import type { Tables, WebhookEventsTable } from "../db/tables.js";
import { RampartError } from "../errors/index.js";
import type { VerifiedWebhook } from "./verification.js";
import { decodeCursor } from "../db/cursor.js";

export type WebhookEventState = WebhookEventsTable["state"];
export const WEBHOOK_EVENT_STATES: readonly WebhookEventState[] = ["received", "processing", "processed", "failed", "dead"];

/** An inbox row as the admin API shows it (never the payload). */
export interface WebhookEventView {
  id: string;
  endpoint: string;
  provider: string;
  eventId: string;
  type: string | null;
  state: WebhookEventState;
  attempts: number;
  lastError: string | null;
  receivedAt: string;
  nextAttemptAt: string;
  processedAt: string | null;
}

/** A verified delivery, as the route hands it over. */
export interface InboxDelivery extends VerifiedWebhook {
  endpoint: string;
  rawBody: Buffer;
  /** GitHub's event name (`X-GitHub-Event`); the other providers carry the type in the body. */
  typeHeader?: string;
}

const TABLE = "rampart_webhook_events";
const TOKEN = /^[\x21-\x7e]{1,255}$/;

/** The encryption context of a payload: bound to its row, so a ciphertext moved to another row fails to decrypt. */
export function payloadContext(id: string): { table: string; column: string; id: string } {
  return { table: TABLE, column: "payload_enc", id };
}

/**
 * The event id and type of a delivery. Standard Webhooks and GitHub carry the
 * id in a signed or delivery header; Stripe's is the `id` of the (signed)
 * JSON body. A body without a usable id is keyed by its SHA-256, so an exact
 * resend is still recognised.
 */
export function identify(delivery: InboxDelivery): { eventId: string; type: string | null } {
  let body: unknown;
  try {
    body = JSON.parse(delivery.rawBody.toString("utf8"));
  } catch {
    body = undefined;
  }
  const field = (name: string): string | null => {
    const v = typeof body === "object" && body !== null ? (body as Record<string, unknown>)[name] : undefined;
    return typeof v === "string" && TOKEN.test(v) ? v : null;
  };
  const eventId = delivery.id ?? field("id") ?? `sha256:${createHash("sha256").update(delivery.rawBody).digest("hex")}`;
  const type = delivery.provider === "github" ? (delivery.typeHeader && TOKEN.test(delivery.typeHeader) ? delivery.typeHeader : null) : field("type");
  return { eventId, type };
}

function view(row: Pick<Selectable<WebhookEventsTable>, "id" | "endpoint" | "provider" | "event_id" | "event_type" | "state" | "attempts" | "last_error" | "received_at" | "next_attempt_at" | "processed_at">): WebhookEventView {
  return {
    id: row.id,
    endpoint: row.endpoint,
    provider: row.provider,
    eventId: row.event_id,
    type: row.event_type,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    receivedAt: new Date(row.received_at).toISOString(),
    nextAttemptAt: new Date(row.next_attempt_at).toISOString(),
    processedAt: row.processed_at ? new Date(row.processed_at).toISOString() : null,
  };
}

export interface ListQuery {
  endpoint?: string;
  state?: WebhookEventState;
  cursor?: string;
  limit?: number;
}

/** Storage of inbound events; the dispatcher (dispatcher.ts) moves them through their states. */
export class WebhookInbox {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly crypto: Pick<Keyring, "encrypt">,
    private readonly now: () => number,
  ) {}

  /** Stores a verified delivery once; `duplicate` when its (provider, event id) was stored before. */
  async store(delivery: InboxDelivery): Promise<{ id: string; eventId: string; type: string | null; duplicate: boolean }> {
    const { eventId, type } = identify(delivery);
    const id = randomUUID();
    // Encrypted before the statement: no keyring call while a connection is held.
    const payload = await this.crypto.encrypt(delivery.rawBody, payloadContext(id));
    const at = new Date(this.now());
    const inserted = await this.db
      .insertInto(TABLE)
      .values({ id, endpoint: delivery.endpoint, provider: delivery.provider, event_id: eventId, event_type: type, state: "received", attempts: 0, next_attempt_at: at, payload_enc: payload, received_at: at })
      .onConflict((oc) => oc.columns(["provider", "event_id"]).doNothing())
      .returning("id")
      .executeTakeFirst();
    if (inserted) return { id, eventId, type, duplicate: false };
    const existing = await this.db.selectFrom(TABLE).select("id").where("provider", "=", delivery.provider).where("event_id", "=", eventId).executeTakeFirstOrThrow();
    return { id: existing.id, eventId, type, duplicate: true };
  }

  /** Events newest first, filtered by endpoint and/or state, with a keyset cursor. */
  async list(query: ListQuery): Promise<{ events: WebhookEventView[]; nextCursor: string | null }> {
    const limit = query.limit ?? 50;
    let q = this.db
      .selectFrom(TABLE)
      .select(["id", "endpoint", "provider", "event_id", "event_type", "state", "attempts", "last_error", "received_at", "next_attempt_at", "processed_at"])
      .orderBy("received_at", "desc")
      .orderBy("id", "desc")
      .limit(limit + 1);
    if (query.endpoint !== undefined) q = q.where("endpoint", "=", query.endpoint);
    if (query.state !== undefined) q = q.where("state", "=", query.state);
    if (query.cursor !== undefined) {
      const [t, id] = decodeCursor(query.cursor);
      q = q.where((eb) => eb.or([eb("received_at", "<", t), eb.and([eb("received_at", "=", t), eb("id", "<", id)])]));
    }
    const rows = await q.execute();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > limit && last ? Buffer.from(JSON.stringify([new Date(last.received_at).toISOString(), last.id])).toString("base64url") : null;
    return { events: page.map(view), nextCursor };
  }

  /** One event, or null. */
  async get(id: string): Promise<WebhookEventView | null> {
    const row = await this.db
      .selectFrom(TABLE)
      .select(["id", "endpoint", "provider", "event_id", "event_type", "state", "attempts", "last_error", "received_at", "next_attempt_at", "processed_at"])
      .where("id", "=", id)
      .executeTakeFirst();
    return row ? view(row) : null;
  }

  /**
   * Puts an event back to `received` with a fresh attempt budget, due now.
   * An event being processed is left alone (409): its claim must end first.
   */
  async requeue(id: string): Promise<WebhookEventView> {
    const at = new Date(this.now());
    const row = await this.db
      .updateTable(TABLE)
      .set({ state: "received", attempts: 0, next_attempt_at: at, locked_until: null, last_error: null, processed_at: null })
      .where("id", "=", id)
      .where("state", "!=", "processing")
      .returning(["id", "endpoint", "provider", "event_id", "event_type", "state", "attempts", "last_error", "received_at", "next_attempt_at", "processed_at"])
      .executeTakeFirst();
    if (row) return view(row);
    if (await this.get(id)) throw new RampartError("CONFLICT", { message: "The event is being processed; replay it once the attempt has ended." });
    throw new RampartError("NOT_FOUND", { message: "No webhook event with this id." });
  }
}
