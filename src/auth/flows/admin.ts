/**
 * Admin operations on users. The email filter is an exact match through the
 * blind index (no plaintext search exists); the other filters (role, status,
 * MFA, plan, creation time) read plain columns only, never decrypted rows.
 * Pagination is a keyset cursor over (created_at, id) bound to the filter set
 * it was issued for. Disabling and role changes end the user's sessions at once.
 *
 * Safety: the last active admin is never disabled or demoted (a guard that
 * locks the admin rows inside the transaction, src/auth/stores/admins.ts),
 * and an admin acting on their own account re-authenticates (password, and a
 * code when MFA is on) like any sensitive self-service action.
 */
import { createHash } from "node:crypto";
import { sql } from "kysely";
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { reauthenticate, type ReauthProof } from "../reauth.js";
import { assertNotLastAdmin } from "../stores/admins.js";
import { logoutAll } from "./sessions.js";
import type { UserProfile } from "../users.js";
import { decodeCursor, encodeCursor } from "../../db/cursor.js";

export interface AdminUserView extends UserProfile {
  locked: boolean;
}

/**
 * Filters of the user list; they combine with AND. `createdAfter` is
 * inclusive, `createdBefore` exclusive. The login lockout is not a filter: it
 * lives in the kv store under the email's blind index with a time to live, so
 * no SQL query can select on it (`locked` is reported per listed user).
 */
export interface UserFilters {
  email?: string;
  role?: string;
  status?: "active" | "disabled";
  mfa?: boolean;
  plan?: string;
  createdAfter?: string;
  createdBefore?: string;
}

const invalid = (param: string, message: string) => new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: `querystring.${param}`, message }] } });

/** A cursor is `<position>.<tag>`: the tag, a digest of the filter set, keeps it from being replayed under other filters. */
function filterTag(f: { emailKey: string | undefined; role: string | undefined; status: string | undefined; mfa: boolean | undefined; plan: string | undefined; after: Date | undefined; before: Date | undefined }): string {
  const canonical = [f.emailKey, f.role, f.status, f.mfa, f.plan, f.after?.getTime(), f.before?.getTime()].map((v) => v ?? null);
  return createHash("sha256").update(JSON.stringify(canonical)).digest("base64url").slice(0, 16);
}

export async function listUsers(identity: Identity, query: UserFilters & { cursor?: string; limit?: number }): Promise<{ users: AdminUserView[]; nextCursor: string | null }> {
  const { runtime, users, lockout, permissions } = identity;
  const { plans, defaultPlan } = runtime.config;
  const limit = query.limit ?? 50;
  if (query.role !== undefined && !permissions.hasRole(query.role)) throw invalid("role", `unknown role; one of: ${permissions.roleNames().join(", ")}`);
  if (query.plan !== undefined && !Object.hasOwn(plans, query.plan)) throw invalid("plan", `unknown plan; one of: ${Object.keys(plans).join(", ")}`);
  const after = query.createdAfter !== undefined ? new Date(query.createdAfter) : undefined;
  const before = query.createdBefore !== undefined ? new Date(query.createdBefore) : undefined;
  if (after && before && after >= before) throw invalid("createdBefore", "must be later than `createdAfter`");
  const emailKey = query.email !== undefined ? users.emailKey(query.email) : undefined;
  const tag = filterTag({ emailKey, role: query.role, status: query.status, mfa: query.mfa, plan: query.plan, after, before });

  let q = runtime.db.kysely.selectFrom("rampart_users").selectAll().where("status", "!=", "erased");
  if (emailKey !== undefined) q = q.where("email_bidx", "=", emailKey);
  if (query.role !== undefined) q = q.where(sql<boolean>`${query.role} = any(roles)`);
  if (query.status !== undefined) q = q.where("status", "=", query.status);
  if (query.mfa !== undefined) q = q.where("mfa_enabled", "=", query.mfa);
  // A null plan is the default plan.
  const plan = query.plan;
  if (plan !== undefined) q = plan === defaultPlan ? q.where((eb) => eb.or([eb("plan", "=", plan), eb("plan", "is", null)])) : q.where("plan", "=", plan);
  if (after) q = q.where("created_at", ">=", after);
  if (before) q = q.where("created_at", "<", before);
  if (query.cursor !== undefined) {
    const dot = query.cursor.lastIndexOf(".");
    if (dot === -1) throw invalid("cursor", "is not a cursor returned by this API");
    const [t, id] = decodeCursor(query.cursor.slice(0, dot));
    if (query.cursor.slice(dot + 1) !== tag) throw invalid("cursor", "belongs to another set of filters; list again without it");
    q = q.where((eb) => eb.or([eb("created_at", ">", t), eb.and([eb("created_at", "=", t), eb("id", ">", id)])]));
  }
  const rows = await q.orderBy("created_at").orderBy("id").limit(limit + 1).execute();
  const page = rows.slice(0, limit);
  const out = await Promise.all(
    page.map(async (r) => ({ ...(await users.decryptProfile(r)), locked: r.email_bidx ? await lockout.isLocked(r.email_bidx) : false })),
  );
  const last = page[page.length - 1];
  return { users: out, nextCursor: rows.length > limit && last ? `${encodeCursor(last.created_at, last.id)}.${tag}` : null };
}

async function requireUser(identity: Identity, id: string) {
  const row = await identity.users.findById(identity.runtime.db.kysely, id);
  if (!row || row.status === "erased") throw new RampartError("NOT_FOUND", { message: "No such user." });
  return row;
}

/** An admin acting on their own account proves it is them (a stolen admin session is not enough). */
async function reauthOnSelf(identity: Identity, adminId: string, id: string, proof: ReauthProof, action: string): Promise<void> {
  if (id === adminId) await reauthenticate(identity, adminId, proof, { action });
}

/** Clears the login lockout and the second-factor lockout of a user. */
export async function unlockUser(identity: Identity, adminId: string, id: string, proof: ReauthProof = {}): Promise<{ wasLocked: boolean }> {
  const row = await requireUser(identity, id);
  // On oneself this goes through the lockout it would clear: a locked account cannot unlock itself.
  await reauthOnSelf(identity, adminId, id, proof, "admin.unlock");
  const loginLocked = row.email_bidx ? await identity.lockout.unlock(row.email_bidx) : false;
  const mfaLocked = await identity.mfaLockout.unlock(id);
  const wasLocked = loginLocked || mfaLocked;
  await identity.runtime.events.emit("auth.unlocked", { actor: { type: "admin", id: adminId }, target: `user:${id}`, data: { wasLocked } });
  return { wasLocked };
}

export async function disableUser(identity: Identity, adminId: string, id: string, proof: ReauthProof = {}): Promise<{ sessionsRevoked: number }> {
  const { runtime, users } = identity;
  await requireUser(identity, id);
  await reauthOnSelf(identity, adminId, id, proof, "admin.disable");
  const sessionIds = await identity.sessions.liveIds(id);
  const sessionsRevoked = await runtime.db.kysely.transaction().execute(async (trx) => {
    await assertNotLastAdmin(trx, id, "disabled");
    await trx.updateTable("rampart_users").set({ status: "disabled", updated_at: new Date(runtime.clock.now()) }).where("id", "=", id).execute();
    const n = await identity.sessions.markRevoked(trx, sessionIds, "disabled");
    await runtime.events.emit("user.disabled", { actor: { type: "admin", id: adminId }, target: `user:${id}`, data: { sessionsRevoked: n } }, trx);
    return n;
  });
  await identity.sessions.publish(sessionIds);
  await users.changed(id);
  return { sessionsRevoked };
}

export async function setRoles(identity: Identity, adminId: string, id: string, roles: string[], proof: ReauthProof = {}): Promise<UserProfile> {
  const { runtime, users } = identity;
  const unknown = roles.filter((r) => !identity.permissions.hasRole(r));
  if (unknown.length > 0 || roles.length === 0) {
    throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: "body.roles", message: roles.length === 0 ? "must name at least one role" : `unknown role(s): ${unknown.join(", ")}` }] } });
  }
  const before = await requireUser(identity, id);
  const next = [...new Set(roles)].sort();
  await reauthOnSelf(identity, adminId, id, proof, "admin.roles");
  // Tokens carry roles: end the sessions so no token keeps the old ones.
  const sessionIds = await identity.sessions.liveIds(id);
  await runtime.db.kysely.transaction().execute(async (trx) => {
    if (!next.includes("admin")) await assertNotLastAdmin(trx, id, "demoted");
    await trx.updateTable("rampart_users").set({ roles: next, updated_at: new Date(runtime.clock.now()) }).where("id", "=", id).execute();
    const n = await identity.sessions.markRevoked(trx, sessionIds, "roles-changed");
    await runtime.events.emit("user.roles.changed", { actor: { type: "admin", id: adminId }, target: `user:${id}`, data: { from: before.roles, to: next, sessionsRevoked: n } }, trx);
  });
  await identity.sessions.publish(sessionIds);
  await users.changed(id);
  return (await users.profile(id))!;
}

export async function revokeUserSessions(identity: Identity, adminId: string, id: string): Promise<{ sessionsRevoked: number }> {
  await requireUser(identity, id);
  return { sessionsRevoked: await logoutAll(identity, id, "admin", "admin", adminId) };
}
