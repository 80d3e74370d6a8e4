/**
 * Inbound webhooks (src/webhooks): the inbox. One row per verified event,
 * unique on (provider, event_id) so a duplicate or replayed delivery is
 * acknowledged without a second row (insert ... on conflict do nothing),
 * with its dispatch state machine (received → processing → processed, or
 * failed → ... → dead), attempt count, retry time and claim lease. The raw
 * payload is stored as an rp1 ciphertext (it may hold personal data).
 *
 * Idempotency keys need no table: they live in the kv store with a TTL
 * (src/idempotency).
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rampart_webhook_events")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("endpoint", "text", (c) => c.notNull())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("event_type", "text")
    .addColumn("state", "text", (c) => c.notNull().check(sql`state in ('received', 'processing', 'processed', 'failed', 'dead')`))
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "timestamptz", (c) => c.notNull())
    .addColumn("locked_until", "timestamptz")
    .addColumn("last_error", "text")
    .addColumn("payload_enc", "text", (c) => c.notNull())
    .addColumn("received_at", "timestamptz", (c) => c.notNull())
    .addColumn("processed_at", "timestamptz")
    .addUniqueConstraint("rampart_webhook_events_provider_event", ["provider", "event_id"])
    .execute();
  // The dispatcher's claim query: due rows by state and time.
  await db.schema.createIndex("rampart_webhook_events_due").on("rampart_webhook_events").columns(["state", "next_attempt_at"]).execute();
  // The admin listing: newest first, filtered by endpoint and/or state.
  await db.schema.createIndex("rampart_webhook_events_list").on("rampart_webhook_events").columns(["received_at", "id"]).execute();
}
