/**
 * Webhook deduplication on signed content only (src/webhooks/inbox.ts).
 *
 * - `rampart_webhook_events.delivery_id`: the delivery id header as received
 *   (`X-GitHub-Delivery`, `webhook-id`), kept for correlation with the
 *   provider's delivery log. It is never a key: GitHub does not sign it.
 *   Rows stored before this migration were keyed by that header for GitHub
 *   (when present) and Standard Webhooks, so their `event_id` is copied over;
 *   they keep that key.
 * - `rampart_webhook_dedupe`: the keys of events from providers that sign no
 *   timestamp (GitHub). Such a capture verifies forever, so its key must
 *   outlive the event row, which the retention job deletes; this table is
 *   not purged. Rows hold a provider, a digest, a row id and a time: no
 *   payload, nothing personal.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("rampart_webhook_events").addColumn("delivery_id", "text").execute();
  // Standard Webhooks rows were keyed by webhook-id; GitHub rows by X-GitHub-Delivery, or by the body's digest when it was absent.
  await sql`update rampart_webhook_events set delivery_id = event_id where provider = 'standard' or (provider = 'github' and event_id not like 'sha256:%')`.execute(db);
  await db.schema
    .createTable("rampart_webhook_dedupe")
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("dedupe_key", "text", (c) => c.notNull())
    // The inbox row of the first delivery; it may since have been purged, so no foreign key.
    .addColumn("event_row_id", "text", (c) => c.notNull())
    .addColumn("first_seen_at", "timestamptz", (c) => c.notNull())
    .addPrimaryKeyConstraint("rampart_webhook_dedupe_pk", ["provider", "dedupe_key"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("rampart_webhook_dedupe").execute();
  await db.schema.alterTable("rampart_webhook_events").dropColumn("delivery_id").execute();
}
