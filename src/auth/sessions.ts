/**
 * Sessions and rotating refresh tokens. A session is one login; its refresh
 * tokens form a rotation family. Refresh tokens are 256-bit random values,
 * stored as SHA-256, valid until the session's absolute expiry.
 *
 * Rotation is a conditional update (`used_at is null`), so of N concurrent
 * refreshes with one token exactly one mints the successor. The winner puts
 * the successor (encrypted under the user's key) in the kv store for the grace
 * window before its transaction commits; the losers, which wait on the row
 * lock, find it there and receive the same successor — on any instance. Any
 * other reuse of a spent token revokes the session (reuse detection).
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { Keyring } from "../crypto/index.js";
import type { Tables } from "../db/index.js";
import { RampartError } from "../errors/index.js";
import type { KvStore } from "../kv/index.js";
import type { RevocationList } from "./revocation/index.js";
import type { Db } from "./users.js";

export interface ClientInfo {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

export interface SessionSettings {
  ttlMs: number;
  graceMs: number;
}

export type RotateOutcome =
  | { kind: "rotated"; userId: string; sessionId: string; refreshToken: string }
  | { kind: "reused"; userId: string; sessionId: string };

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64url");
}

export function newOpaqueToken(): string {
  return randomBytes(32).toString("base64url");
}

const successorKey = (oldHash: string) => `refresh:successor:${oldHash}`;
const successorContext = (oldHash: string) => ({ purpose: "refresh-successor", token: oldHash });

export class Sessions {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly kv: KvStore,
    private readonly keyring: Keyring,
    private readonly revocations: RevocationList,
    private readonly settings: SessionSettings,
    private readonly now: () => number,
    /** Records a detected reuse (the security event) in the revoking transaction. */
    private readonly onReuse?: (trx: Transaction<Tables>, userId: string, sessionId: string) => Promise<void>,
  ) {}

  /** Creates a session and its first refresh token. */
  async create(db: Db, userId: string, client: ClientInfo, mfa: boolean): Promise<{ sessionId: string; refreshToken: string; expiresAt: Date }> {
    const sessionId = randomUUID();
    const now = this.now();
    const expiresAt = new Date(now + this.settings.ttlMs);
    const clientEnc = client.ip || client.userAgent ? await this.keyring.encryptFor(userId, JSON.stringify(client), { table: "rampart_sessions", column: "client", id: sessionId }) : null;
    const refreshToken = newOpaqueToken();
    // One statement (a data-modifying CTE): the session and its first refresh token are written
    // together or not at all, in one round trip — a login's only write.
    await db
      .with("s", (q) => q.insertInto("rampart_sessions").values({ id: sessionId, user_id: userId, client_enc: clientEnc, mfa, created_at: new Date(now), last_used_at: new Date(now), expires_at: expiresAt }).returning(["id", "user_id", "created_at", "expires_at"]))
      .insertInto("rampart_refresh_tokens")
      .columns(["id", "session_id", "user_id", "token_hash", "created_at", "expires_at"])
      .expression((eb) => eb.selectFrom("s").select([eb.val(randomUUID()).as("id"), "s.id", "s.user_id", eb.val(hashToken(refreshToken)).as("token_hash"), "s.created_at", "s.expires_at"]))
      .execute();
    return { sessionId, refreshToken, expiresAt };
  }

  /** Rotates a refresh token; see the module comment for the concurrency argument. */
  async rotate(refreshToken: string): Promise<RotateOutcome> {
    const tokenHash = hashToken(refreshToken);
    const now = this.now();
    const row = await this.db
      .selectFrom("rampart_refresh_tokens as r")
      .innerJoin("rampart_sessions as s", "s.id", "r.session_id")
      .innerJoin("rampart_users as u", "u.id", "r.user_id")
      .select(["r.id", "r.session_id", "r.user_id", "r.used_at", "r.expires_at", "s.revoked_at", "u.status"])
      .where("r.token_hash", "=", tokenHash)
      .executeTakeFirst();
    if (!row || row.expires_at.getTime() <= now || row.status !== "active") throw new RampartError("UNAUTHENTICATED", { message: "The refresh token is not valid." });
    if (row.revoked_at) throw new RampartError("TOKEN_REVOKED");

    if (row.used_at === null) {
      const successor = newOpaqueToken();
      // Sealed before the transaction: the keyring may read the database.
      const sealed = this.settings.graceMs > 0 ? await this.keyring.encryptFor(row.user_id, successor, successorContext(tokenHash)) : undefined;
      const won = await this.db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable("rampart_refresh_tokens")
          .set({ used_at: new Date(now), replaced_by: hashToken(successor) })
          .where("id", "=", row.id)
          .where("used_at", "is", null)
          .executeTakeFirst();
        if (updated.numUpdatedRows !== 1n) return false;
        await trx
          .insertInto("rampart_refresh_tokens")
          .values({ id: randomUUID(), session_id: row.session_id, user_id: row.user_id, token_hash: hashToken(successor), created_at: new Date(now), expires_at: row.expires_at })
          .execute();
        await trx.updateTable("rampart_sessions").set({ last_used_at: new Date(now) }).where("id", "=", row.session_id).execute();
        // The window includes its last millisecond (`<= graceMs` below), and the embedded kv store
        // drops an entry at its ttl (Redis just after): kept 1 ms longer, the successor outlives the window.
        if (sealed !== undefined) await this.kv.set(successorKey(tokenHash), sealed, { ttlMs: this.settings.graceMs + 1 });
        return true;
      });
      if (won) return { kind: "rotated", userId: row.user_id, sessionId: row.session_id, refreshToken: successor };
    }

    // Spent: a concurrent refresh within the grace window gets the same successor.
    const spent = await this.db.selectFrom("rampart_refresh_tokens").select(["used_at"]).where("id", "=", row.id).executeTakeFirst();
    const usedAt = spent?.used_at?.getTime();
    if (this.settings.graceMs > 0 && usedAt !== undefined && now - usedAt <= this.settings.graceMs) {
      const sealed = await this.kv.get(successorKey(tokenHash));
      if (sealed) {
        const successor = await this.keyring.decryptStringFor(row.user_id, sealed, successorContext(tokenHash));
        return { kind: "rotated", userId: row.user_id, sessionId: row.session_id, refreshToken: successor };
      }
    }
    await this.revoke([row.session_id], "refresh-token-reuse", async (trx) => {
      await this.onReuse?.(trx, row.user_id, row.session_id);
    });
    return { kind: "reused", userId: row.user_id, sessionId: row.session_id };
  }

  /**
   * Revokes sessions: marks them in the database (with `audit` run in the same
   * transaction), then puts their sids on the shared revocation list. A
   * failure of the list after the commit is retried by calling again: the
   * database update is a no-op then, the list write is not.
   */
  async revoke(sessionIds: readonly string[], reason: string, audit?: (trx: Transaction<Tables>, count: number) => Promise<void>): Promise<number> {
    if (sessionIds.length === 0) return 0;
    const count = await this.db.transaction().execute(async (trx) => {
      const n = await this.markRevoked(trx, sessionIds, reason);
      await audit?.(trx, n);
      return n;
    });
    await this.revocations.revokeSessions(sessionIds);
    return count;
  }

  /** The database half of a revocation, inside the caller's transaction; call `publish` after the commit. */
  async markRevoked(trx: Transaction<Tables>, sessionIds: readonly string[], reason: string): Promise<number> {
    if (sessionIds.length === 0) return 0;
    const res = await trx
      .updateTable("rampart_sessions")
      .set({ revoked_at: new Date(this.now()), revoke_reason: reason })
      .where("id", "in", sessionIds)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /** Puts sessions on the shared revocation list (their access tokens are refused everywhere). */
  publish(sessionIds: readonly string[]): Promise<void> {
    return sessionIds.length === 0 ? Promise.resolve() : this.revocations.revokeSessions(sessionIds);
  }

  /** Ids of a user's live sessions, optionally without one (the caller's). */
  async liveIds(userId: string, keep?: string): Promise<string[]> {
    let q = this.db.selectFrom("rampart_sessions").select("id").where("user_id", "=", userId).where("revoked_at", "is", null).where("expires_at", ">", new Date(this.now()));
    if (keep) q = q.where("id", "!=", keep);
    return (await q.execute()).map((r) => r.id);
  }

  /** Revokes every live session of a user, optionally keeping one. */
  async revokeAllOf(userId: string, reason: string, options: { keep?: string; audit?: (trx: Transaction<Tables>, count: number) => Promise<void> } = {}): Promise<number> {
    return this.revoke(await this.liveIds(userId, options.keep), reason, options.audit);
  }

  async list(userId: string) {
    const rows = await this.db
      .selectFrom("rampart_sessions")
      .select(["id", "client_enc", "mfa", "created_at", "last_used_at", "expires_at"])
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .where("expires_at", ">", new Date(this.now()))
      .orderBy("created_at", "desc")
      .execute();
    return Promise.all(
      rows.map(async (r) => {
        const client: ClientInfo = r.client_enc ? (JSON.parse(await this.keyring.decryptStringFor(userId, r.client_enc, { table: "rampart_sessions", column: "client", id: r.id })) as ClientInfo) : {};
        return { id: r.id, ip: client.ip ?? null, userAgent: client.userAgent ?? null, mfa: r.mfa, createdAt: r.created_at.toISOString(), lastUsedAt: r.last_used_at.toISOString(), expiresAt: r.expires_at.toISOString() };
      }),
    );
  }

  /** A live session of this user, or undefined. */
  async find(userId: string, sessionId: string) {
    return this.db
      .selectFrom("rampart_sessions")
      .select(["id"])
      .where("id", "=", sessionId)
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .where("expires_at", ">", new Date(this.now()))
      .executeTakeFirst();
  }
}
