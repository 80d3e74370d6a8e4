/**
 * Identity: users, sessions, refresh tokens, API keys, MFA backup codes,
 * password-reset tokens and the mail outbox. Personal values are stored
 * envelope-encrypted under the user's own key (`*_enc`, `rp1:` text) and looked
 * up through keyed blind indexes; secrets are stored as SHA-256 hashes
 * (docs/architecture.md, "Data at rest"). Every table that holds a user's data references
 * `rampart_users(id)`, so erasure and export can enumerate them.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rampart_users")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("email_enc", "text")
    .addColumn("email_bidx", "text")
    .addColumn("name_enc", "text")
    .addColumn("password_hash", "text")
    .addColumn("status", "text", (c) => c.notNull().defaultTo("active").check(sql`status in ('active', 'disabled', 'erased')`))
    .addColumn("roles", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{user}'`))
    .addColumn("mfa_enabled", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("totp_secret_enc", "text")
    .addColumn("totp_pending_enc", "text")
    .addColumn("totp_last_step", "bigint")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("password_changed_at", "timestamptz")
    .addColumn("erased_at", "timestamptz")
    .execute();
  // One account per email; erased accounts drop their index so the email can register again.
  await db.schema.createIndex("rampart_users_email_bidx").on("rampart_users").column("email_bidx").unique().execute();
  await db.schema.createIndex("rampart_users_created").on("rampart_users").columns(["created_at", "id"]).execute();

  await db.schema
    .createTable("rampart_sessions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id").onDelete("cascade"))
    .addColumn("client_enc", "text")
    .addColumn("mfa", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("last_used_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("revoked_at", "timestamptz")
    .addColumn("revoke_reason", "text")
    .execute();
  await db.schema.createIndex("rampart_sessions_user").on("rampart_sessions").columns(["user_id", "created_at"]).execute();

  await db.schema
    .createTable("rampart_refresh_tokens")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("session_id", "text", (c) => c.notNull().references("rampart_sessions.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id").onDelete("cascade"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("used_at", "timestamptz")
    .addColumn("replaced_by", "text")
    .execute();
  await db.schema.createIndex("rampart_refresh_tokens_session").on("rampart_refresh_tokens").column("session_id").execute();
  await db.schema.createIndex("rampart_refresh_tokens_expires").on("rampart_refresh_tokens").column("expires_at").execute();

  await db.schema
    .createTable("rampart_api_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("secret_hash", "text", (c) => c.notNull())
    .addColumn("scopes", sql`text[]`, (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz")
    .addColumn("revoked_at", "timestamptz")
    .addColumn("last_used_at", "timestamptz")
    .execute();
  await db.schema.createIndex("rampart_api_keys_user").on("rampart_api_keys").columns(["user_id", "created_at"]).execute();

  await db.schema
    .createTable("rampart_backup_codes")
    .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id").onDelete("cascade"))
    .addColumn("code_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("used_at", "timestamptz")
    .addPrimaryKeyConstraint("rampart_backup_codes_pk", ["user_id", "code_hash"])
    .execute();

  await db.schema
    .createTable("rampart_password_resets")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id").onDelete("cascade"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("used_at", "timestamptz")
    .execute();

  await db.schema
    .createTable("rampart_outbox")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.references("rampart_users.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("message_enc", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("next_attempt_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("sent_at", "timestamptz")
    .addColumn("last_error", "text")
    .execute();
  await db.schema.createIndex("rampart_outbox_pending").on("rampart_outbox").columns(["sent_at", "next_attempt_at"]).execute();
}
