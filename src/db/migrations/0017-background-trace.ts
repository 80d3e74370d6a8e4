/**
 * The trace id of the request that queued background work: an outbox message
 * and an inbound webhook event keep it, so delivery and dispatch (minutes or
 * retries later, on any instance) log under the same trace. Nullable: work
 * queued outside a request, and rows written before this migration, have none.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("rampart_outbox").addColumn("trace_id", "text").execute();
  await db.schema.alterTable("rampart_webhook_events").addColumn("trace_id", "text").execute();
}
