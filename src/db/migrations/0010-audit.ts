/**
 * The tamper-evident audit log: an append-only hash chain. `rampart_audit_head`
 * holds the last sequence number and hash; an append locks it (FOR UPDATE), so
 * appends from any number of instances form one chain with no forks or gaps.
 * `data` is canonical JSON text (not jsonb, which would re-encode it and break
 * the hashes); personal data is never stored in clear (users by id, the IP
 * pseudonymized with a keyed hash).
 */
import { sql, type Kysely } from "kysely";

// The same value as src/audit (migrations stay self-contained).

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rampart_audit_log")
    .addColumn("seq", "bigint", (c) => c.primaryKey())
    .addColumn("at", "timestamptz", (c) => c.notNull())
    .addColumn("actor_type", "text", (c) => c.notNull())
    .addColumn("actor_id", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target", "text")
    .addColumn("ip_hash", "text")
    .addColumn("trace_id", "text")
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("prev_hash", "text", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("rampart_audit_actor").on("rampart_audit_log").columns(["actor_id", "seq"]).execute();
  await db.schema.createIndex("rampart_audit_target").on("rampart_audit_log").columns(["target", "seq"]).execute();
  await db.schema.createIndex("rampart_audit_action").on("rampart_audit_log").columns(["action", "seq"]).execute();
  await db.schema.createIndex("rampart_audit_at").on("rampart_audit_log").columns(["at"]).execute();
  await db.schema
    .createTable("rampart_audit_head")
    .addColumn("id", "integer", (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn("seq", "bigint", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .execute();
  await sql`insert into rampart_audit_head (id, seq, hash) values (1, 0, ${"0".repeat(64)})`.execute(db);
}
