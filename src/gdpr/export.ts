/**
 * GDPR export (right of access and portability): everything Rampart holds
 * about a user, decrypted, as JSON — one section per table that references
 * the user (EXPORT_TABLES; a test enumerates the foreign keys to
 * `rampart_users` and fails when a table is missing here), plus the audit
 * entries about them. The zip variant adds the files themselves.
 */
import type { Files } from "../files/index.js";
import type { Identity } from "../auth/identity.js";
import type { Permission } from "../auth/permissions.js";
import { RampartError } from "../errors/index.js";
import type { Runtime } from "../runtime/index.js";
import { consentHistory, listConsents } from "./consents.js";

/** Every table with a foreign key to rampart_users, and the export section that covers it. */
export const EXPORT_TABLES: Readonly<Record<string, string>> = {
  rampart_sessions: "sessions",
  rampart_refresh_tokens: "refreshTokens",
  rampart_api_keys: "apiKeys",
  rampart_backup_codes: "mfa",
  rampart_password_resets: "passwordResets",
  rampart_email_verifications: "emailVerifications",
  rampart_outbox: "mail",
  rampart_consents: "consents",
  rampart_files: "files",
  rampart_usage: "usage",
};

/**
 * The permission that reads each export section directly. The export route
 * requires all of them, so an export never shows a credential what it could
 * not read on its own; sections with no route of their own (pending mail,
 * reset links, the audit trail) need `me:export`, which an API key only holds
 * when its scopes name it.
 */
export const EXPORT_SECTIONS = {
  profile: "me:read",
  sessions: "sessions:read",
  refreshTokens: "sessions:read",
  apiKeys: "api-keys:read",
  mfa: "me:read",
  passwordResets: "me:export",
  emailVerifications: "me:export",
  mail: "me:export",
  consents: "me:read",
  files: "files:read",
  usage: "me:read",
  audit: "me:export",
} as const satisfies Record<string, Permission>;

/** Everything a self-export requires (the union of EXPORT_SECTIONS). */
export const EXPORT_PERMISSIONS: readonly Permission[] = [...new Set<Permission>(Object.values(EXPORT_SECTIONS))].sort();

export interface GdprDeps {
  runtime: Runtime;
  identity: Identity;
  files?: Files | undefined;
}

export async function exportUser(deps: GdprDeps, userId: string): Promise<{ format: string; exportedAt: string } & Record<keyof typeof EXPORT_SECTIONS, unknown>> {
  const { runtime, identity } = deps;
  const db = runtime.db.kysely;
  const user = await db.selectFrom("rampart_users").selectAll().where("id", "=", userId).executeTakeFirst();
  if (!user || user.status === "erased") throw new RampartError("NOT_FOUND", { message: "No such user." });
  const profile = await identity.users.decryptProfile(user);
  const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

  const sessions = await db.selectFrom("rampart_sessions").selectAll().where("user_id", "=", userId).orderBy("created_at").execute();
  const sessionView = await Promise.all(
    sessions.map(async (s) => ({
      id: s.id,
      client: s.client_enc ? (JSON.parse(await runtime.crypto.decryptStringFor(userId, s.client_enc, { table: "rampart_sessions", column: "client", id: s.id })) as unknown) : null,
      mfa: s.mfa,
      createdAt: iso(s.created_at),
      lastUsedAt: iso(s.last_used_at),
      expiresAt: iso(s.expires_at),
      revokedAt: iso(s.revoked_at),
      revokeReason: s.revoke_reason,
    })),
  );
  const refreshTokens = await db.selectFrom("rampart_refresh_tokens").select(["id", "session_id", "created_at", "expires_at", "used_at"]).where("user_id", "=", userId).orderBy("created_at").execute();
  const apiKeys = await db.selectFrom("rampart_api_keys").selectAll().where("user_id", "=", userId).orderBy("created_at").execute();
  const backupCodes = await db.selectFrom("rampart_backup_codes").select(["created_at", "used_at"]).where("user_id", "=", userId).execute();
  const resets = await db.selectFrom("rampart_password_resets").select(["created_at", "expires_at", "used_at"]).where("user_id", "=", userId).orderBy("created_at").execute();
  const verifications = await db.selectFrom("rampart_email_verifications").select(["created_at", "expires_at", "used_at"]).where("user_id", "=", userId).orderBy("created_at").execute();
  const mail = await db.selectFrom("rampart_outbox").select(["id", "kind", "message_enc", "created_at", "sent_at", "attempts"]).where("user_id", "=", userId).orderBy("created_at").execute();
  const usage = await db.selectFrom("rampart_usage").selectAll().where("user_id", "=", userId).orderBy("period_start").execute();
  const files = deps.files ? await listAllFiles(deps.files, userId) : [];
  const audit = await db
    .selectFrom("rampart_audit_log")
    .select(["seq", "at", "actor_type", "actor_id", "action", "target", "trace_id", "data"])
    .where((eb) => eb.or([eb("actor_id", "=", userId), eb("target", "=", `user:${userId}`)]))
    .orderBy("seq")
    .execute();

  return {
    format: "rampart-export/1",
    exportedAt: new Date(runtime.clock.now()).toISOString(),
    profile: { ...profile, plan: (user as { plan?: string | null }).plan ?? null, passwordChangedAt: iso(user.password_changed_at) },
    sessions: sessionView,
    refreshTokens: refreshTokens.map((r) => ({ id: r.id, sessionId: r.session_id, createdAt: iso(r.created_at), expiresAt: iso(r.expires_at), usedAt: iso(r.used_at) })),
    apiKeys: apiKeys.map((k) => ({ id: k.id, name: k.name, prefix: k.prefix, scopes: k.scopes, createdAt: iso(k.created_at), expiresAt: iso(k.expires_at), revokedAt: iso(k.revoked_at), lastUsedAt: iso(k.last_used_at), parentId: k.parent_id })),
    mfa: { enabled: user.mfa_enabled, backupCodes: { total: backupCodes.length, remaining: backupCodes.filter((c) => c.used_at === null).length } },
    passwordResets: resets.map((r) => ({ createdAt: iso(r.created_at), expiresAt: iso(r.expires_at), usedAt: iso(r.used_at) })),
    emailVerifications: verifications.map((r) => ({ createdAt: iso(r.created_at), expiresAt: iso(r.expires_at), usedAt: iso(r.used_at) })),
    mail: await Promise.all(
      mail.map(async (m) => ({
        kind: m.kind,
        createdAt: iso(m.created_at),
        sentAt: iso(m.sent_at),
        attempts: m.attempts,
        // Unsent messages still hold their content; sent ones keep none.
        message: m.message_enc ? (JSON.parse(await runtime.crypto.decryptStringFor(userId, m.message_enc, { table: "rampart_outbox", column: "message", id: m.id })) as unknown) : null,
      })),
    ),
    consents: { current: await listConsents(runtime, userId), history: await consentHistory(runtime, userId) },
    files,
    usage: usage.map((u) => ({ meter: u.meter, period: u.period, periodStart: iso(u.period_start), used: Number(u.used) })),
    audit: audit.map((a) => ({ seq: Number(a.seq), at: iso(a.at), actor: { type: a.actor_type, id: a.actor_id }, action: a.action, target: a.target, traceId: a.trace_id, data: JSON.parse(a.data) as unknown })),
  };
}

async function listAllFiles(files: Files, userId: string) {
  const out = [];
  let cursor: string | undefined;
  do {
    const page = await files.list(userId, { limit: 100, ...(cursor ? { cursor } : {}) });
    out.push(...page.files);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}
