/**
 * API keys: created by a user with a subset of their own permissions as
 * scopes, shown once, stored as SHA-256, revocable, expiring, last use
 * tracked (at most once a minute per key, so a busy key does not write on
 * every request).
 */
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { authenticateApiKey, generateApiKey, parseScopes } from "../api-keys/index.js";
import { permissionsOf, type Permission } from "../permissions.js";
import type { Principal } from "../principal.js";

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

function view(r: { id: string; name: string; prefix: string; scopes: string[]; created_at: Date; expires_at: Date | null; last_used_at: Date | null }): ApiKeyView {
  return { id: r.id, name: r.name, prefix: r.prefix, scopes: r.scopes, createdAt: r.created_at.toISOString(), expiresAt: r.expires_at?.toISOString() ?? null, lastUsedAt: r.last_used_at?.toISOString() ?? null };
}

export async function createApiKey(identity: Identity, principal: Principal, input: { name: string; scopes: string[]; expiresAt?: string }): Promise<ApiKeyView & { key: string }> {
  const { runtime } = identity;
  // A key can never hold more than the user who creates it (nor more than the key creating it).
  const allowed = [...principal.permissions];
  const scopes = parseScopes(input.scopes, { allowed });
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
    const created = await trx
      .insertInto("rampart_api_keys")
      .values({ id: generated.id, user_id: principal.userId, name: input.name, prefix: generated.prefix, secret_hash: generated.hash, scopes, created_at: new Date(now), expires_at: expiresAt })
      .returningAll()
      .executeTakeFirstOrThrow();
    const actor = principal.kind === "api-key" ? { type: "api-key" as const, id: principal.apiKeyId! } : { type: "user" as const, id: principal.userId };
    await runtime.events.emit("apikey.created", { actor, target: `apikey:${generated.id}`, data: { scopes, owner: principal.userId } }, trx);
    return created;
  });
  return { ...view(row), key: generated.key };
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
    await runtime.events.emit("apikey.revoked", { actor: { type: "user", id: userId }, target: `apikey:${id}` }, trx);
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
  const owner = permissionsOf(record.roles);
  const permissions = new Set<Permission>([...owner].filter((p) => record.scopes.includes(p)));
  return { kind: "api-key", userId: record.user_id, roles: record.roles, permissions, apiKeyId: record.id, scopes: record.scopes };
}
