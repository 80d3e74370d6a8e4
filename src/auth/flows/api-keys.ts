/**
 * API keys: created by a user with a subset of their own permissions as
 * scopes, shown once, stored as SHA-256, revocable, expiring, last use
 * tracked (at most once a minute per key, so a busy key does not write on
 * every request).
 *
 * A key never exceeds the credential that creates it: its scopes are a subset
 * of the creator's permissions (for a key, its owner's intersected with its
 * scopes); a key made by a key expires no later than its parent and is
 * revoked with it (`parent_id`); the creator must still be live in the
 * transaction that inserts the key, so a revocation racing the creation
 * cannot leave a fresh key behind.
 */
import type { Transaction } from "kysely";
import type { Tables } from "../../db/tables.js";
import type { Actor } from "../../events/emitter.js";
import { RampartError } from "../../errors/index.js";
import type { Runtime } from "../../runtime/index.js";
import type { Identity } from "../identity.js";
import { authenticateApiKey, generateApiKey, isSensitiveScope, parseScopes } from "../api-keys/index.js";
import type { Permission } from "../permissions.js";
import type { Principal } from "../principal.js";
import { reauthenticate } from "../reauth.js";

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  parentId: string | null;
}

function view(r: { id: string; name: string; prefix: string; scopes: string[]; created_at: Date; expires_at: Date | null; last_used_at: Date | null; parent_id: string | null }): ApiKeyView {
  return { id: r.id, name: r.name, prefix: r.prefix, scopes: r.scopes, createdAt: r.created_at.toISOString(), expiresAt: r.expires_at?.toISOString() ?? null, lastUsedAt: r.last_used_at?.toISOString() ?? null, parentId: r.parent_id };
}

export async function createApiKey(identity: Identity, principal: Principal, input: { name: string; scopes: string[]; expiresAt?: string; password?: string; code?: string }): Promise<ApiKeyView & { key: string }> {
  const { runtime } = identity;
  // A key can never hold more than the user who creates it (nor more than the key creating it),
  // and never a permission reserved to login sessions.
  const registry = identity.permissions;
  const allowed = [...principal.permissions].filter((p) => registry.has(p) && !registry.sessionOnly(p));
  const scopes = parseScopes(input.scopes, { allowed });
  // Write and admin scopes act on the account: the owner re-authenticates (password, and a code when
  // MFA is on), whether a session or a key asks — a stolen credential alone cannot mint one.
  if (scopes.some((s) => isSensitiveScope(s, registry))) await reauthenticate(identity, principal.userId, { password: input.password, code: input.code }, { action: "apikey.create" });
  const now = runtime.clock.now();
  let expiresAt: Date | null = null;
  if (input.expiresAt !== undefined) {
    expiresAt = new Date(input.expiresAt);
    if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= now) {
      throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: "body.expiresAt", message: "must be a date-time in the future" }] } });
    }
  }
  const generated = generateApiKey();
  const row = await runtime.db.kysely.transaction().execute(async (trx) => {
    const parent = await liveCreator(trx, principal, now);
    if (parent) {
      // A derived key never outlives its parent: no expiry means the parent's.
      if (expiresAt === null) expiresAt = parent.expiresAt;
      else if (parent.expiresAt && expiresAt.getTime() > parent.expiresAt.getTime()) {
        throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: "body.expiresAt", message: `must not be later than the expiry of the key creating it (${parent.expiresAt.toISOString()})` }] } });
      }
    }
    const created = await trx
      .insertInto("rampart_api_keys")
      .values({
        id: generated.id,
        user_id: principal.userId,
        name: input.name,
        prefix: generated.prefix,
        secret_hash: generated.hash,
        scopes,
        created_at: new Date(now),
        expires_at: expiresAt,
        parent_id: parent?.id ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const actor = principal.kind === "api-key" ? { type: "api-key" as const, id: principal.apiKeyId! } : { type: "user" as const, id: principal.userId };
    await runtime.events.emit("apikey.created", { actor, target: `apikey:${generated.id}`, data: { scopes, owner: principal.userId } }, trx);
    return created;
  });
  return { ...view(row), key: generated.key };
}

/**
 * Re-reads the creating credential inside the key's transaction, under row
 * locks: a session or key revoked meanwhile (logout, reset, parent
 * revocation) cannot mint a key, and a revocation that starts after the locks
 * waits for the new key's commit and then revokes it too. The user row is
 * share-locked because a reset updates it first: a reset in flight makes this
 * wait and then see its revocations, and a reset that comes second reads the
 * new key in a later statement. Returns the parent key, or null for a session.
 */
async function liveCreator(trx: Transaction<Tables>, principal: Principal, now: number): Promise<{ id: string; expiresAt: Date | null } | null> {
  await trx.selectFrom("rampart_users").select("id").where("id", "=", principal.userId).forShare().execute();
  if (principal.kind === "api-key") {
    const parent = await trx
      .selectFrom("rampart_api_keys")
      .select(["id", "expires_at"])
      .where("id", "=", principal.apiKeyId!)
      .where("user_id", "=", principal.userId)
      .where("revoked_at", "is", null)
      .forUpdate()
      .executeTakeFirst();
    if (!parent || (parent.expires_at && parent.expires_at.getTime() <= now)) throw new RampartError("UNAUTHENTICATED", { message: "The API key is not valid." });
    return { id: parent.id, expiresAt: parent.expires_at };
  }
  const session = await trx
    .selectFrom("rampart_sessions")
    .select("id")
    .where("id", "=", principal.sessionId ?? "")
    .where("user_id", "=", principal.userId)
    .where("revoked_at", "is", null)
    .forUpdate()
    .executeTakeFirst();
  if (!session) throw new RampartError("TOKEN_REVOKED");
  return null;
}

/**
 * Revokes, inside the caller's transaction, the given keys' live
 * descendants (or, with `all`, every live key of the user), emitting
 * `apikey.revoked` with the reason for each. Returns the revoked ids.
 */
export async function revokeKeysIn(trx: Transaction<Tables>, runtime: Runtime, userId: string, scope: { all: true } | { childrenOf: string[] }, reason: string, actor: Actor): Promise<string[]> {
  const at = new Date(runtime.clock.now());
  const revoked: string[] = [];
  let frontier = "all" in scope ? null : scope.childrenOf;
  // Breadth-first down the lineage; a key's children are revoked in the round after it.
  while (frontier === null || frontier.length > 0) {
    let q = trx.updateTable("rampart_api_keys").set({ revoked_at: at }).where("user_id", "=", userId).where("revoked_at", "is", null);
    if (frontier !== null) q = q.where("parent_id", "in", frontier);
    const ids = (await q.returning("id").execute()).map((r) => r.id);
    for (const id of ids) await runtime.events.emit("apikey.revoked", { actor, target: `apikey:${id}`, data: { reason } }, trx);
    revoked.push(...ids);
    if (frontier === null) break;
    frontier = ids;
  }
  return revoked;
}

export async function listApiKeys(identity: Identity, userId: string): Promise<ApiKeyView[]> {
  const rows = await identity.runtime.db.kysely.selectFrom("rampart_api_keys").selectAll().where("user_id", "=", userId).where("revoked_at", "is", null).orderBy("created_at", "desc").execute();
  return rows.map(view);
}

export async function revokeApiKey(identity: Identity, userId: string, id: string): Promise<void> {
  const { runtime } = identity;
  const revoked = await runtime.db.kysely.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable("rampart_api_keys")
      .set({ revoked_at: new Date(runtime.clock.now()) })
      .where("id", "=", id)
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    if (res.numUpdatedRows !== 1n) return false;
    const actor = { type: "user" as const, id: userId };
    await runtime.events.emit("apikey.revoked", { actor, target: `apikey:${id}`, data: { reason: "revoked" } }, trx);
    await revokeKeysIn(trx, runtime, userId, { childrenOf: [id] }, "parent-revoked", actor);
    // Keys minted by this key die with it, whoever holds them.
    return true;
  });
  // Someone else's key and an unknown key look the same.
  if (!revoked) throw new RampartError("NOT_FOUND", { message: "No such API key." });
}

/** Resolves `rp_...` to a principal, or null (the caller answers 401 the same way for every failure). */
export async function apiKeyPrincipal(identity: Identity, key: string): Promise<Principal | null> {
  const { runtime } = identity;
  const db = runtime.db.kysely;
  const now = runtime.clock.now();
  const record = await authenticateApiKey(
    key,
    async (id) => {
      const r = await db
        .selectFrom("rampart_api_keys as k")
        .innerJoin("rampart_users as u", "u.id", "k.user_id")
        .select(["k.id", "k.user_id", "k.secret_hash", "k.scopes", "k.expires_at", "k.revoked_at", "u.roles", "u.status"])
        .where("k.id", "=", id)
        .executeTakeFirst();
      return r ? { ...r, hash: r.secret_hash, expiresAt: r.expires_at, revokedAt: r.revoked_at } : null;
    },
    now,
  );
  if (!record || record.status !== "active") return null;
  if (await runtime.kv.set(`apikey:touched:${record.id}`, "1", { ttlMs: 60_000, ifAbsent: true }).catch(() => false)) {
    await db.updateTable("rampart_api_keys").set({ last_used_at: new Date(now) }).where("id", "=", record.id).execute();
  }
  // The owner's current roles (a demotion narrows the key at once), its scopes, never a session-only permission.
  const registry = identity.permissions;
  const owner = registry.permissionsOf(record.roles);
  const permissions = new Set<Permission>([...owner].filter((p) => record.scopes.includes(p) && !registry.sessionOnly(p)));
  return { kind: "api-key", userId: record.user_id, roles: record.roles, permissions, apiKeyId: record.id, scopes: record.scopes };
}
