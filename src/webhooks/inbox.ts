/**
 * The inbox of inbound webhook events: one row per (provider, event key).
 *
 * The key is only ever what the provider's signature covers (see
 * `identify`): Standard Webhooks' signed `webhook-id`, the `id` inside
 * Stripe's signed body, and for GitHub, which signs the body alone, the
 * SHA-256 of that body. An unsigned header (`X-GitHub-Delivery`,
 * `X-GitHub-Event`) never takes part, so a captured delivery replayed with
 * new values in them is still the same event.
 *
 * `store` is one `insert ... on conflict do nothing`: of any number of
 * concurrent deliveries of one event (a provider's retry racing the first
 * delivery, an attacker replaying a captured one), exactly one inserts the
 * row and the others see `duplicate: true`, on one instance or many, because
 * the unique constraint is the arbiter. A provider that signs no timestamp
 * (GitHub) makes captures that verify forever, while event rows are purged
 * after their retention: its keys are also recorded in
 * `rampart_webhook_dedupe`, which is never purged, in the same transaction.
 * The raw payload is encrypted (`rp1:`, context `{ table, column, id }`)
 * before the statement, so a database dump holds no personal data a
 * provider sent.
 */
import { currentContext } from "../context/index.js";
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
  /** The event's key, from signed content only (see `identify`). */
  eventId: string;
  /** The delivery id header as received; unsigned for GitHub. */
  deliveryId: string | null;
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
  /** GitHub's event name (`X-GitHub-Event`, unsigned); the other providers carry the type in the signed body. */
  typeHeader?: string;
}

const TABLE = "rampart_webhook_events";
const DEDUPE = "rampart_webhook_dedupe";
const TOKEN = /^[\x21-\x7e]{1,255}$/;

/** The encryption context of a payload: bound to its row, so a ciphertext moved to another row fails to decrypt. */
export function payloadContext(id: string): { table: string; column: string; id: string } {
  return { table: TABLE, column: "payload_enc", id };
}

/** The key of a delivery identified by its signed bytes alone. */
function digestKey(rawBody: Buffer): string {
  return `sha256:${createHash("sha256").update(rawBody).digest("hex")}`;
}

/**
 * The event key and type of a delivery, from signed content only:
 *
 * - Standard Webhooks: `webhook-id`, covered by the signature (`id`).
 * - Stripe: the `id` of the signed JSON body; a body without a usable one is
 *   keyed by its SHA-256, so an exact resend is still recognised.
 * - GitHub: the SHA-256 of the body, the only signed content. A top-level
 *   `id` in a GitHub payload is not an event id (it is absent from most and
 *   names the hook or an object in others), and `X-GitHub-Delivery` is
 *   unsigned, so neither keys anything.
 *
 * The type is the signed body's `type` (Stripe, Standard Webhooks). GitHub
 * payloads do not carry their event name: the type is `X-GitHub-Event` as the
 * first delivery of the event carried it, unsigned, and never part of the key,
 * so a replay under another event name is a duplicate and changes nothing.
 */
export function identify(delivery: InboxDelivery): { eventId: string; type: string | null } {
  if (delivery.provider === "github") {
    const type = delivery.typeHeader !== undefined && TOKEN.test(delivery.typeHeader) ? delivery.typeHeader : null;
    return { eventId: digestKey(delivery.rawBody), type };
  }
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
  const signedBodyId = delivery.provider === "stripe" ? field("id") : null;
  return { eventId: delivery.id ?? signedBodyId ?? digestKey(delivery.rawBody), type: field("type") };
}

/** The columns an event view is made of (never the payload). */
const VIEW_COLUMNS = ["id", "endpoint", "provider", "event_id", "delivery_id", "event_type", "state", "attempts", "last_error", "received_at", "next_attempt_at", "processed_at"] as const;

function view(row: Pick<Selectable<WebhookEventsTable>, (typeof VIEW_COLUMNS)[number]>): WebhookEventView {
  return {
    id: row.id,
    endpoint: row.endpoint,
    provider: row.provider,
    eventId: row.event_id,
    deliveryId: row.delivery_id,
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

  /** Stores a verified delivery once; `duplicate` when its (provider, event key) was stored before. */
  async store(delivery: InboxDelivery): Promise<{ id: string; eventId: string; type: string | null; duplicate: boolean }> {
    const { eventId, type } = identify(delivery);
    const id = randomUUID();
    // Encrypted before the statement: no keyring call while a connection is held.
    const payload = await this.crypto.encrypt(delivery.rawBody, payloadContext(id));
    const at = new Date(this.now());
    const row = { id, endpoint: delivery.endpoint, provider: delivery.provider, event_id: eventId, delivery_id: delivery.deliveryId, event_type: type, state: "received" as const, attempts: 0, next_attempt_at: at, payload_enc: payload, received_at: at, trace_id: currentContext()?.traceId ?? null };
    const result = (storedId: string, duplicate: boolean) => ({ id: storedId, eventId, type, duplicate });
    if (delivery.timestamp !== null) {
      // A signed timestamp bounds replays to the tolerance, far shorter than the rows' retention: the row is the record.
      const inserted = await this.db.insertInto(TABLE).values(row).onConflict((oc) => oc.columns(["provider", "event_id"]).doNothing()).returning("id").executeTakeFirst();
      if (inserted) return result(id, false);
      const existing = await this.db.selectFrom(TABLE).select("id").where("provider", "=", delivery.provider).where("event_id", "=", eventId).executeTakeFirstOrThrow();
      return result(existing.id, true);
    }
    // No signed timestamp: the key is recorded for good, before the row, in one transaction (a concurrent copy waits on the key).
    return this.db.transaction().execute(async (trx) => {
      const recorded = await trx
        .insertInto(DEDUPE)
        .values({ provider: delivery.provider, dedupe_key: eventId, event_row_id: id, first_seen_at: at })
        .onConflict((oc) => oc.columns(["provider", "dedupe_key"]).doNothing())
        .returning("event_row_id")
        .executeTakeFirst();
      if (!recorded) {
        // Seen before, even if its row has since been purged.
        const first = await trx.selectFrom(DEDUPE).select("event_row_id").where("provider", "=", delivery.provider).where("dedupe_key", "=", eventId).executeTakeFirstOrThrow();
        return result(first.event_row_id, true);
      }
      const inserted = await trx.insertInto(TABLE).values(row).onConflict((oc) => oc.columns(["provider", "event_id"]).doNothing()).returning("id").executeTakeFirst();
      if (inserted) return result(id, false);
      // A row stored under this key before the key table existed: point the record at it.
      const existing = await trx.selectFrom(TABLE).select("id").where("provider", "=", delivery.provider).where("event_id", "=", eventId).executeTakeFirstOrThrow();
      await trx.updateTable(DEDUPE).set({ event_row_id: existing.id }).where("provider", "=", delivery.provider).where("dedupe_key", "=", eventId).execute();
      return result(existing.id, true);
    });
  }

  /** Events newest first, filtered by endpoint and/or state, with a keyset cursor. */
  async list(query: ListQuery): Promise<{ events: WebhookEventView[]; nextCursor: string | null }> {
    const limit = query.limit ?? 50;
    let q = this.db
      .selectFrom(TABLE)
      .select(VIEW_COLUMNS)
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
      .select(VIEW_COLUMNS)
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
      .returning(VIEW_COLUMNS)
      .executeTakeFirst();
    if (row) return view(row);
    if (await this.get(id)) throw new RampartError("CONFLICT", { message: "The event is being processed; replay it once the attempt has ended." });
    throw new RampartError("NOT_FOUND", { message: "No webhook event with this id." });
  }
}
