/**
 * Sessions and rotating refresh tokens (src/auth/sessions.ts), driven directly
 * over one migrated embedded database: what a login writes, conditional
 * rotation (one successor per token, kept in the kv store for the grace window
 * and handed to concurrent losers), reuse detection that ends the session,
 * the absolute expiry, revocation and the session list. The HTTP view of the
 * same rules is in sessions.security.test.ts.
 *
 * Each test has its own user, clocks, kv store and revocation lists. The kv
 * store runs on its own clock, as Redis does: the session clock alone decides
 * the grace window, whatever the kv store still holds. One test puts it on the
 * session clock, as embedded mode does, for the window's last millisecond.
 */
import { randomUUID, webcrypto } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Transaction } from "kysely";
import { RevocationList } from "../../src/auth/revocation/index.js";
import { hashToken, newOpaqueToken, Sessions, type RotateOutcome } from "../../src/auth/sessions.js";
import type { Tables } from "../../src/db/index.js";
import { MemoryKv } from "../../src/kv/memory.js";
import { ManualClock, type Runtime } from "../../src/runtime/index.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

const TTL_MS = 7 * 86_400_000;
const GRACE_MS = 10_000;
const START = Date.UTC(2026, 2, 1, 12, 0, 0);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

let env: TestEnv | undefined;
let runtime: Runtime;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  env = await createTestEnv("embedded");
  ({ runtime } = await createTestRuntime(env));
}, 60_000);
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await runtime?.close();
  await env?.cleanup();
});

const db = () => runtime.db.kysely;

/** The kv store and revocation list one instance uses, plus a peer list on the same kv to observe it. */
interface Stores {
  kv: MemoryKv;
  kvClock: ManualClock;
  revocations: RevocationList;
  peer: RevocationList;
}

async function stores(kvClock = new ManualClock(START)): Promise<Stores> {
  const kv = new MemoryKv({ clock: kvClock });
  closers.push(() => kv.close());
  const list = () => RevocationList.create({ kv, clock: kvClock, log: runtime.log, retentionMs: 930_000, syncIntervalMs: 0 });
  const revocations = await list();
  closers.push(() => revocations.close());
  const peer = await list();
  closers.push(() => peer.close());
  return { kv, kvClock, revocations, peer };
}

interface ReuseCall {
  userId: string;
  sessionId: string;
  inTransaction: boolean;
  /** The session's revoke reason as the transaction sees it when the event is recorded. */
  reasonInTransaction: string | null | undefined;
}

interface Harness extends Stores {
  sessions: Sessions;
  clock: ManualClock;
  reuses: ReuseCall[];
}

async function harness(options: { graceMs?: number; onReuse?: boolean; on?: Stores; clock?: ManualClock } = {}): Promise<Harness> {
  const s = options.on ?? (await stores());
  const clock = options.clock ?? new ManualClock(START);
  const reuses: ReuseCall[] = [];
  const onReuse = async (trx: Transaction<Tables>, userId: string, sessionId: string) => {
    const seen = await trx.selectFrom("rampart_sessions").select("revoke_reason").where("id", "=", sessionId).executeTakeFirst();
    reuses.push({ userId, sessionId, inTransaction: trx.isTransaction, reasonInTransaction: seen?.revoke_reason });
  };
  const sessions = new Sessions(db(), s.kv, runtime.crypto, s.revocations, { ttlMs: TTL_MS, graceMs: options.graceMs ?? GRACE_MS }, () => clock.now(), options.onReuse === false ? undefined : onReuse);
  return { ...s, sessions, clock, reuses };
}

async function newUser(status: "active" | "disabled" = "active"): Promise<string> {
  const id = `user-${randomUUID()}`;
  await db().insertInto("rampart_users").values({ id, status }).execute();
  return id;
}

const sessionRow = (id: string) => db().selectFrom("rampart_sessions").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
const tokenRow = (token: string) => db().selectFrom("rampart_refresh_tokens").selectAll().where("token_hash", "=", hashToken(token)).executeTakeFirst();
const tokenCount = async (sessionId: string) => (await db().selectFrom("rampart_refresh_tokens").select("id").where("session_id", "=", sessionId).execute()).length;
const successorKey = (token: string) => `refresh:successor:${hashToken(token)}`;

/** The code and message a promise rejects with, or "ACCEPTED". */
async function failure(p: Promise<unknown>): Promise<{ code: string; message: string } | "ACCEPTED"> {
  return p.then(
    () => "ACCEPTED" as const,
    (err: { code?: string; message: string }) => ({ code: err.code ?? "THREW", message: err.message }),
  );
}
const NOT_VALID = { code: "UNAUTHENTICATED", message: "The refresh token is not valid." };
const REVOKED = { code: "TOKEN_REVOKED", message: "The token has been revoked." };

function rotated(o: RotateOutcome): string {
  if (o.kind !== "rotated") throw new Error(`expected a rotation, got ${o.kind}`);
  return o.refreshToken;
}

describe("token formats", () => {
  it("hashToken is the unpadded base64url SHA-256 of the token's UTF-8 bytes", async () => {
    // FIPS 180-2 test vectors for "abc" and the empty message.
    expect(hashToken("abc")).toBe("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    expect(hashToken("")).toBe("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    const text = "é-€-𝄞";
    const digest = Buffer.from(await webcrypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
    expect(hashToken(text)).toBe(digest.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
  });

  it("newOpaqueToken gives 256 random bits as 43 base64url characters, never twice the same", () => {
    const tokens = Array.from({ length: 200 }, () => newOpaqueToken());
    for (const t of tokens) {
      expect(t).toMatch(TOKEN);
      expect(Buffer.from(t, "base64url")).toHaveLength(32);
    }
    expect(new Set(tokens).size).toBe(200);
  });
});

describe("create", () => {
  it("writes the session and its first refresh token (stored as its hash) with the absolute expiry", async () => {
    const h = await harness();
    const userId = await newUser();
    const created = await h.sessions.create(db(), userId, {}, false);
    expect(created.sessionId).toMatch(UUID);
    expect(created.refreshToken).toMatch(TOKEN);
    expect(created.expiresAt).toEqual(new Date(START + TTL_MS));

    expect(await sessionRow(created.sessionId)).toEqual({
      id: created.sessionId,
      user_id: userId,
      client_enc: null,
      mfa: false,
      created_at: new Date(START),
      last_used_at: new Date(START),
      expires_at: new Date(START + TTL_MS),
      revoked_at: null,
      revoke_reason: null,
    });
    const tokens = await db().selectFrom("rampart_refresh_tokens").selectAll().where("user_id", "=", userId).execute();
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toEqual({
      id: expect.stringMatching(UUID),
      session_id: created.sessionId,
      user_id: userId,
      token_hash: hashToken(created.refreshToken),
      created_at: new Date(START),
      expires_at: new Date(START + TTL_MS),
      used_at: null,
      replaced_by: null,
    });
    expect(tokens[0]!.id).not.toBe(created.sessionId);
  });

  it("records whether the login used a second factor, and gives each login its own session and token", async () => {
    const h = await harness();
    const userId = await newUser();
    const a = await h.sessions.create(db(), userId, {}, true);
    const b = await h.sessions.create(db(), userId, {}, false);
    expect((await sessionRow(a.sessionId)).mfa).toBe(true);
    expect((await sessionRow(b.sessionId)).mfa).toBe(false);
    expect(b.sessionId).not.toBe(a.sessionId);
    expect(b.refreshToken).not.toBe(a.refreshToken);
  });

  it("stores the client (ip, user agent) encrypted under the user's key, bound to the session row", async () => {
    const h = await harness();
    const userId = await newUser();
    const cases = [{ ip: "203.0.113.7", userAgent: "agent/1.0" }, { ip: "198.51.100.2" }, { userAgent: "only-agent" }];
    for (const client of cases) {
      const { sessionId } = await h.sessions.create(db(), userId, client, false);
      const enc = (await sessionRow(sessionId)).client_enc;
      expect(enc).toMatch(/^rp1:/);
      expect(enc).not.toContain(client.userAgent ?? client.ip);
      const opened = await runtime.crypto.decryptStringFor(userId, enc!, { table: "rampart_sessions", column: "client", id: sessionId });
      expect(JSON.parse(opened)).toEqual(client);
    }
    // Nothing to store: no ciphertext at all.
    const { sessionId } = await h.sessions.create(db(), userId, { ip: "", userAgent: undefined }, false);
    expect((await sessionRow(sessionId)).client_enc).toBeNull();
  });

  it("writes through the connection it is given: a rolled-back transaction leaves nothing", async () => {
    const h = await harness();
    const userId = await newUser();
    const rollback = new Error("rollback");
    await expect(
      db()
        .transaction()
        .execute(async (trx) => {
          await h.sessions.create(trx, userId, {}, false);
          throw rollback;
        }),
    ).rejects.toBe(rollback);
    expect(await db().selectFrom("rampart_sessions").select("id").where("user_id", "=", userId).execute()).toEqual([]);
  });
});

describe("rotate", () => {
  it("spends the token and mints one successor of the same session and expiry", async () => {
    const h = await harness();
    const userId = await newUser();
    const { sessionId, refreshToken } = await h.sessions.create(db(), userId, {}, false);
    h.clock.advance(60_000);
    const out = await h.sessions.rotate(refreshToken);
    expect(out).toEqual({ kind: "rotated", userId, sessionId, refreshToken: expect.stringMatching(TOKEN) });
    const successor = rotated(out);
    expect(successor).not.toBe(refreshToken);

    expect(await tokenRow(refreshToken)).toMatchObject({ session_id: sessionId, used_at: new Date(START + 60_000), replaced_by: hashToken(successor) });
    expect(await tokenRow(successor)).toEqual({
      id: expect.stringMatching(UUID),
      session_id: sessionId,
      user_id: userId,
      token_hash: hashToken(successor),
      created_at: new Date(START + 60_000),
      expires_at: new Date(START + TTL_MS),
      used_at: null,
      replaced_by: null,
    });
    expect(await tokenCount(sessionId)).toBe(2);
    expect(await sessionRow(sessionId)).toMatchObject({ last_used_at: new Date(START + 60_000), created_at: new Date(START), revoked_at: null });

    // The successor rotates in turn.
    h.clock.advance(1_000);
    const next = rotated(await h.sessions.rotate(successor));
    expect((await tokenRow(successor))?.replaced_by).toBe(hashToken(next));
    expect((await sessionRow(sessionId)).last_used_at).toEqual(new Date(START + 61_000));
  });

  it("keeps the successor in the kv store for the grace window, sealed for the user and the spent token", async () => {
    const h = await harness();
    const userId = await newUser();
    const { refreshToken } = await h.sessions.create(db(), userId, {}, false);
    const successor = rotated(await h.sessions.rotate(refreshToken));
    const sealed = await h.kv.get(successorKey(refreshToken));
    expect(sealed).toMatch(/^rp1:/);
    expect(sealed).not.toContain(successor);
    expect(await runtime.crypto.decryptStringFor(userId, sealed!, { purpose: "refresh-successor", token: hashToken(refreshToken) })).toBe(successor);
    // One millisecond past the window, whose last millisecond still counts.
    expect(await h.kv.ttl(successorKey(refreshToken))).toBe(GRACE_MS + 1);
    // Nothing under the successor's own key until it is spent.
    expect(await h.kv.get(successorKey(successor))).toBeNull();
  });

  it("a spent token within the grace window (its last millisecond included) returns the same successor", async () => {
    const h = await harness();
    const userId = await newUser();
    const { sessionId, refreshToken } = await h.sessions.create(db(), userId, {}, false);
    const successor = rotated(await h.sessions.rotate(refreshToken));
    const encrypt = vi.spyOn(runtime.crypto, "encryptFor");
    closers.push(async () => encrypt.mockRestore());
    expect(await h.sessions.rotate(refreshToken)).toEqual({ kind: "rotated", userId, sessionId, refreshToken: successor });
    h.clock.advance(GRACE_MS);
    expect(await h.sessions.rotate(refreshToken)).toEqual({ kind: "rotated", userId, sessionId, refreshToken: successor });
    // A repeat of a spent token does not try to mint: it spends no data-key encryption.
    expect(encrypt).not.toHaveBeenCalled();
    // No new token, no revocation, no reuse event.
    expect(await tokenCount(sessionId)).toBe(2);
    expect((await sessionRow(sessionId)).revoked_at).toBeNull();
    expect(h.reuses).toEqual([]);
    expect(await h.peer.isRevoked(sessionId)).toBe(false);
    expect(rotated(await h.sessions.rotate(successor))).toMatch(TOKEN);
  });

  it("with the kv store on the same clock (embedded mode), the last millisecond of the window still returns the successor", async () => {
    const clock = new ManualClock(START);
    const h = await harness({ clock, on: await stores(clock) });
    const userId = await newUser();
    const { sessionId, refreshToken } = await h.sessions.create(db(), userId, {}, false);
    const successor = rotated(await h.sessions.rotate(refreshToken));
    clock.advance(GRACE_MS);
    expect(await h.sessions.rotate(refreshToken)).toEqual({ kind: "rotated", userId, sessionId, refreshToken: successor });
    clock.advance(1);
    expect(await h.sessions.rotate(refreshToken)).toEqual({ kind: "reused", userId, sessionId });
  });

  it("after the grace window a spent token is reuse: the session, its successor and its access tokens end, other sessions go on", async () => {
    const h = await harness();
    const userId = await newUser();
    const { sessionId, refreshToken } = await h.sessions.create(db(), userId, {}, false);
    const other = await h.sessions.create(db(), userId, {}, false);
    const successor = rotated(await h.sessions.rotate(refreshToken));
    // The kv store (another clock) still holds the successor: the session clock decides.
    h.clock.advance(GRACE_MS + 1);
    expect(await h.kv.get(successorKey(refreshToken))).not.toBeNull();
    expect(await h.sessions.rotate(refreshToken)).toEqual({ kind: "reused", userId, sessionId });

    expect(await sessionRow(sessionId)).toMatchObject({ revoked_at: new Date(START + GRACE_MS + 1), revoke_reason: "refresh-token-reuse" });
    expect(h.reuses).toEqual([{ userId, sessionId, inTransaction: true, reasonInTransaction: "refresh-token-reuse" }]);
    expect(await h.peer.isRevoked(sessionId)).toBe(true);
    expect(await h.peer.isRevoked(other.sessionId)).toBe(false);
    expect(await failure(h.sessions.rotate(successor))).toEqual(REVOKED);
    expect(await failure(h.sessions.rotate(refreshToken))).toEqual(REVOKED);
    expect(rotated(await h.sessions.rotate(other.refreshToken))).toMatch(TOKEN);
  });

  it("a spent token whose successor is gone from the kv store is reuse, even within the window", async () => {
    const h = await harness();
    const userId = await newUser();
    const { sessionId, refreshToken } = await h.sessions.create(db(), userId, {}, false);
    rotated(await h.sessions.rotate(refreshToken));
    await h.kv.del(successorKey(refreshToken));
    h.clock.advance(1);
    expect(await h.sessions.rotate(refreshToken)).toEqual({ kind: "reused", userId, sessionId });
    expect((await sessionRow(sessionId)).revoke_reason).toBe("refresh-token-reuse");
    expect(h.reuses).toHaveLength(1);
  });

  it("each spent token has its own successor in the kv store", async () => {
    const h = await harness();
    const userId = await newUser();
    const a = await h.sessions.create(db(), userId, {}, false);
    const b = await h.sessions.create(db(), userId, {}, false);
    const sa = rotated(await h.sessions.rotate(a.refreshToken));
    const sb = rotated(await h.sessions.rotate(b.refreshToken));
    expect(rotated(await h.sessions.rotate(a.refreshToken))).toBe(sa);
    expect(rotated(await h.sessions.rotate(b.refreshToken))).toBe(sb);
  });

  it("a token erased while it rotates (account erasure between read and update) is refused as reuse, without a successor", async () => {
    const h = await harness();
    const userId = await newUser();
    const { sessionId, refreshToken } = await h.sessions.create(db(), userId, {}, false);
    // The rotation seals the successor between reading the token and updating it: erase there.
    const seal = runtime.crypto.encryptFor.bind(runtime.crypto);
    const encrypt = vi.spyOn(runtime.crypto, "encryptFor").mockImplementationOnce(async (...args) => {
      await db().deleteFrom("rampart_refresh_tokens").where("session_id", "=", sessionId).execute();
      await db().deleteFrom("rampart_sessions").where("id", "=", sessionId).execute();
      return seal(...args);
    });
    closers.push(async () => encrypt.mockRestore());
    expect(await h.sessions.rotate(refreshToken)).toEqual({ kind: "reused", userId, sessionId });
    expect(await tokenCount(sessionId)).toBe(0);
    expect(await h.kv.get(successorKey(refreshToken))).toBeNull();
    expect(await h.peer.isRevoked(sessionId)).toBe(true);
  });

  it("concurrent rotations with one token mint exactly one successor and all return it", async () => {
    const h = await harness();
    const userId = await newUser();
    const { sessionId, refreshToken } = await h.sessions.create(db(), userId, {}, false);
    const encrypt = vi.spyOn(runtime.crypto, "encryptFor");
    closers.push(async () => encrypt.mockRestore());
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => h.sessions.rotate(refreshToken)));
    // Every caller read the token unspent and tried the conditional update.
    expect(encrypt).toHaveBeenCalledTimes(5);
    const successor = rotated(outcomes[0]!);
    expect(outcomes).toEqual(Array.from({ length: 5 }, () => ({ kind: "rotated", userId, sessionId, refreshToken: successor })));
    expect(await tokenCount(sessionId)).toBe(2);
    expect((await tokenRow(refreshToken))?.replaced_by).toBe(hashToken(successor));
    expect(h.reuses).toEqual([]);
  });

  it("a token is refused from its session's absolute expiry on, successors included", async () => {
    const h = await harness();
    const userId = await newUser();
    const { refreshToken } = await h.sessions.create(db(), userId, {}, false);
    const unused = await h.sessions.create(db(), userId, {}, false);
    h.clock.advance(TTL_MS - 1);
    const last = rotated(await h.sessions.rotate(refreshToken));
    h.clock.advance(1);
    expect(await failure(h.sessions.rotate(last))).toEqual(NOT_VALID);
    expect(await failure(h.sessions.rotate(unused.refreshToken))).toEqual(NOT_VALID);
    // Refused, not treated as reuse.
    expect((await sessionRow(unused.sessionId)).revoked_at).toBeNull();
  });

  it("an unknown token, or one of a disabled account, is not valid", async () => {
    const h = await harness();
    expect(await failure(h.sessions.rotate(newOpaqueToken()))).toEqual(NOT_VALID);
    const disabled = await newUser("disabled");
    const { refreshToken } = await h.sessions.create(db(), disabled, {}, false);
    expect(await failure(h.sessions.rotate(refreshToken))).toEqual(NOT_VALID);
    expect(await tokenRow(refreshToken)).toMatchObject({ used_at: null, replaced_by: null });
  });

  it("a revoked session's token is TOKEN_REVOKED; an expired or disabled one is not valid first", async () => {
    const h = await harness();
    const userId = await newUser();
    const a = await h.sessions.create(db(), userId, {}, false);
    const b = await h.sessions.create(db(), userId, {}, false);
    await h.sessions.revoke([a.sessionId, b.sessionId], "logout");
    expect(await failure(h.sessions.rotate(a.refreshToken))).toEqual(REVOKED);
    expect(await tokenRow(a.refreshToken)).toMatchObject({ used_at: null, replaced_by: null });
    await db().updateTable("rampart_users").set({ status: "disabled" }).where("id", "=", userId).execute();
    expect(await failure(h.sessions.rotate(a.refreshToken))).toEqual(NOT_VALID);
    await db().updateTable("rampart_users").set({ status: "active" }).where("id", "=", userId).execute();
    h.clock.advance(TTL_MS);
    expect(await failure(h.sessions.rotate(b.refreshToken))).toEqual(NOT_VALID);
  });

  it("without a reuse hook, reuse still ends the session", async () => {
    const h = await harness({ onReuse: false });
    const userId = await newUser();
    const { sessionId, refreshToken } = await h.sessions.create(db(), userId, {}, false);
    rotated(await h.sessions.rotate(refreshToken));
    h.clock.advance(GRACE_MS + 1);
    expect(await h.sessions.rotate(refreshToken)).toEqual({ kind: "reused", userId, sessionId });
    expect((await sessionRow(sessionId)).revoke_reason).toBe("refresh-token-reuse");
    expect(await h.peer.isRevoked(sessionId)).toBe(true);
  });
});

describe("rotate without a grace window", () => {
  it("rotates without putting the successor in the kv store; any repeat is reuse", async () => {
    const h = await harness({ graceMs: 0 });
    const userId = await newUser();
    const { sessionId, refreshToken } = await h.sessions.create(db(), userId, {}, false);
    const successor = rotated(await h.sessions.rotate(refreshToken));
    expect(await h.kv.get(successorKey(refreshToken))).toBeNull();
    // No entry at all, not an empty one.
    expect(await h.kv.ttl(successorKey(refreshToken))).toBeNull();
    expect(await tokenRow(successor)).toMatchObject({ session_id: sessionId, used_at: null });
    // The same millisecond: still reuse.
    expect(await h.sessions.rotate(refreshToken)).toEqual({ kind: "reused", userId, sessionId });
    expect(h.reuses).toEqual([{ userId, sessionId, inTransaction: true, reasonInTransaction: "refresh-token-reuse" }]);
    expect(await failure(h.sessions.rotate(successor))).toEqual(REVOKED);
  });

  it("of two concurrent rotations one wins and the other is reuse", async () => {
    const h = await harness({ graceMs: 0 });
    const userId = await newUser();
    const { sessionId, refreshToken } = await h.sessions.create(db(), userId, {}, false);
    const outcomes = await Promise.all([h.sessions.rotate(refreshToken), h.sessions.rotate(refreshToken)]);
    expect(outcomes.map((o) => o.kind).sort()).toEqual(["reused", "rotated"]);
    expect(await tokenCount(sessionId)).toBe(2);
    expect((await sessionRow(sessionId)).revoke_reason).toBe("refresh-token-reuse");
  });

  it("a repeat is reuse even when an instance with a grace window left the successor in the shared kv store", async () => {
    const shared = await stores();
    const clock = new ManualClock(START);
    const withGrace = await harness({ on: shared, clock });
    const without = await harness({ on: shared, clock, graceMs: 0 });
    const userId = await newUser();
    const { sessionId, refreshToken } = await withGrace.sessions.create(db(), userId, {}, false);
    rotated(await withGrace.sessions.rotate(refreshToken));
    expect(await shared.kv.get(successorKey(refreshToken))).not.toBeNull();
    expect(await without.sessions.rotate(refreshToken)).toEqual({ kind: "reused", userId, sessionId });
  });
});

describe("revocation", () => {
  it("revoke marks the sessions with time and reason, runs the audit in the same transaction, then publishes them", async () => {
    const h = await harness();
    const userId = await newUser();
    const a = await h.sessions.create(db(), userId, {}, false);
    const b = await h.sessions.create(db(), userId, {}, false);
    const kept = await h.sessions.create(db(), userId, {}, false);
    h.clock.advance(5_000);
    const audits: { count: number; inTransaction: boolean; reason: string | null | undefined }[] = [];
    const n = await h.sessions.revoke([a.sessionId, b.sessionId], "deleted", async (trx, count) => {
      const row = await trx.selectFrom("rampart_sessions").select("revoke_reason").where("id", "=", a.sessionId).executeTakeFirst();
      audits.push({ count, inTransaction: trx.isTransaction, reason: row?.revoke_reason });
    });
    expect(n).toBe(2);
    expect(audits).toEqual([{ count: 2, inTransaction: true, reason: "deleted" }]);
    for (const id of [a.sessionId, b.sessionId]) {
      expect(await sessionRow(id)).toMatchObject({ revoked_at: new Date(START + 5_000), revoke_reason: "deleted" });
      expect(await h.peer.isRevoked(id)).toBe(true);
    }
    expect(await sessionRow(kept.sessionId)).toMatchObject({ revoked_at: null, revoke_reason: null });
    expect(await h.peer.isRevoked(kept.sessionId)).toBe(false);
  });

  it("revoking again counts nothing and keeps the first time and reason, but publishes again", async () => {
    const h = await harness();
    const userId = await newUser();
    const { sessionId } = await h.sessions.create(db(), userId, {}, false);
    expect(await h.sessions.revoke([sessionId], "logout")).toBe(1);
    const publish = vi.spyOn(h.revocations, "revokeSessions");
    h.clock.advance(1_000);
    const counts: number[] = [];
    expect(await h.sessions.revoke([sessionId], "deleted", async (_trx, count) => void counts.push(count))).toBe(0);
    expect(counts).toEqual([0]);
    expect(await sessionRow(sessionId)).toMatchObject({ revoked_at: new Date(START), revoke_reason: "logout" });
    expect(publish).toHaveBeenCalledTimes(1);
    expect(publish).toHaveBeenCalledWith([sessionId]);
  });

  it("revoking no sessions does nothing and returns 0", async () => {
    const h = await harness();
    const publish = vi.spyOn(h.revocations, "revokeSessions");
    const audit = vi.fn(async () => undefined);
    expect(await h.sessions.revoke([], "logout", audit)).toBe(0);
    expect(audit).not.toHaveBeenCalled();
    await h.sessions.publish([]);
    expect(publish).not.toHaveBeenCalled();
    expect(await db().transaction().execute((trx) => h.sessions.markRevoked(trx, [], "disabled"))).toBe(0);
  });

  it("a failing audit rolls the revocation back and publishes nothing", async () => {
    const h = await harness();
    const userId = await newUser();
    const { sessionId } = await h.sessions.create(db(), userId, {}, false);
    const boom = new Error("audit down");
    await expect(
      h.sessions.revoke([sessionId], "deleted", async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await sessionRow(sessionId)).toMatchObject({ revoked_at: null, revoke_reason: null });
    expect(await h.peer.isRevoked(sessionId)).toBe(false);
  });

  it("markRevoked writes in the caller's transaction and publish puts the sessions on the list afterwards", async () => {
    const h = await harness();
    const userId = await newUser();
    const a = await h.sessions.create(db(), userId, {}, false);
    const b = await h.sessions.create(db(), userId, {}, false);
    h.clock.advance(7);
    const n = await db()
      .transaction()
      .execute((trx) => h.sessions.markRevoked(trx, [a.sessionId, b.sessionId, "no-such-session"], "disabled"));
    expect(n).toBe(2);
    expect(await sessionRow(a.sessionId)).toMatchObject({ revoked_at: new Date(START + 7), revoke_reason: "disabled" });
    expect(await h.peer.isRevoked(a.sessionId)).toBe(false);
    await h.sessions.publish([a.sessionId, b.sessionId]);
    expect(await h.peer.isRevoked(a.sessionId)).toBe(true);
    expect(await h.peer.isRevoked(b.sessionId)).toBe(true);
    // Already revoked: nothing more to mark.
    expect(await db().transaction().execute((trx) => h.sessions.markRevoked(trx, [a.sessionId], "again"))).toBe(0);
  });

  it("revokeAllOf ends every live session of the user but the one kept, and only that user's", async () => {
    const h = await harness();
    const userId = await newUser();
    const stranger = await newUser();
    const a = await h.sessions.create(db(), userId, {}, false);
    const b = await h.sessions.create(db(), userId, {}, false);
    const keep = await h.sessions.create(db(), userId, {}, false);
    const theirs = await h.sessions.create(db(), stranger, {}, false);
    const counts: number[] = [];
    expect(await h.sessions.revokeAllOf(userId, "password-changed", { keep: keep.sessionId, audit: async (_trx, count) => void counts.push(count) })).toBe(2);
    expect(counts).toEqual([2]);
    expect((await sessionRow(a.sessionId)).revoke_reason).toBe("password-changed");
    expect((await sessionRow(b.sessionId)).revoke_reason).toBe("password-changed");
    expect((await sessionRow(keep.sessionId)).revoked_at).toBeNull();
    expect((await sessionRow(theirs.sessionId)).revoked_at).toBeNull();
    expect(await h.peer.isRevoked(b.sessionId)).toBe(true);
    expect(await h.peer.isRevoked(keep.sessionId)).toBe(false);
    // Then all of them; then none is left.
    expect(await h.sessions.revokeAllOf(userId, "logout-all")).toBe(1);
    expect((await sessionRow(keep.sessionId)).revoke_reason).toBe("logout-all");
    expect(await h.sessions.revokeAllOf(userId, "logout-all")).toBe(0);
  });
});

describe("listing and finding sessions", () => {
  it("liveIds gives the user's sessions neither revoked nor expired, optionally without one", async () => {
    const h = await harness();
    const userId = await newUser();
    const old = await h.sessions.create(db(), userId, {}, false);
    h.clock.advance(1_000);
    const revoked = await h.sessions.create(db(), userId, {}, false);
    const live = await h.sessions.create(db(), userId, {}, false);
    const other = await h.sessions.create(db(), userId, {}, false);
    await h.sessions.create(db(), await newUser(), {}, false);
    await h.sessions.revoke([revoked.sessionId], "logout");
    h.clock.advance(TTL_MS - 1_001);
    expect((await h.sessions.liveIds(userId)).sort()).toEqual([old.sessionId, live.sessionId, other.sessionId].sort());
    // `old` expires at this very millisecond.
    h.clock.advance(1);
    expect((await h.sessions.liveIds(userId)).sort()).toEqual([live.sessionId, other.sessionId].sort());
    expect(await h.sessions.liveIds(userId, other.sessionId)).toEqual([live.sessionId]);
    expect(await h.sessions.liveIds(await newUser())).toEqual([]);
  });

  it("list shows live sessions newest first with client, second factor and times; ended ones drop out", async () => {
    const h = await harness();
    const userId = await newUser();
    const first = await h.sessions.create(db(), userId, { ip: "192.0.2.1", userAgent: "agent-one" }, true);
    h.clock.advance(1_000);
    const second = await h.sessions.create(db(), userId, { userAgent: "agent-two" }, false);
    h.clock.advance(1_000);
    const third = await h.sessions.create(db(), userId, {}, false);
    const gone = await h.sessions.create(db(), userId, { ip: "192.0.2.9" }, false);
    await h.sessions.create(db(), await newUser(), { ip: "192.0.2.50" }, false);
    await h.sessions.revoke([gone.sessionId], "logout");
    h.clock.advance(5_000);
    rotated(await h.sessions.rotate(second.refreshToken));
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(await h.sessions.list(userId)).toEqual([
      { id: third.sessionId, ip: null, userAgent: null, mfa: false, createdAt: iso(START + 2_000), lastUsedAt: iso(START + 2_000), expiresAt: iso(START + 2_000 + TTL_MS) },
      { id: second.sessionId, ip: null, userAgent: "agent-two", mfa: false, createdAt: iso(START + 1_000), lastUsedAt: iso(START + 7_000), expiresAt: iso(START + 1_000 + TTL_MS) },
      { id: first.sessionId, ip: "192.0.2.1", userAgent: "agent-one", mfa: true, createdAt: iso(START), lastUsedAt: iso(START), expiresAt: iso(START + TTL_MS) },
    ]);
    // The first session expires at this very millisecond.
    h.clock.set(START + TTL_MS);
    expect((await h.sessions.list(userId)).map((s) => s.id)).toEqual([third.sessionId, second.sessionId]);
    expect(await h.sessions.list(await newUser())).toEqual([]);
  });

  it("find gives a live session of that user only", async () => {
    const h = await harness();
    const userId = await newUser();
    const stranger = await newUser();
    const s = await h.sessions.create(db(), userId, {}, false);
    const revoked = await h.sessions.create(db(), userId, {}, false);
    await h.sessions.revoke([revoked.sessionId], "logout");
    expect(await h.sessions.find(userId, s.sessionId)).toEqual({ id: s.sessionId });
    expect(await h.sessions.find(stranger, s.sessionId)).toBeUndefined();
    expect(await h.sessions.find(userId, revoked.sessionId)).toBeUndefined();
    expect(await h.sessions.find(userId, randomUUID())).toBeUndefined();
    h.clock.advance(TTL_MS - 1);
    expect(await h.sessions.find(userId, s.sessionId)).toEqual({ id: s.sessionId });
    h.clock.advance(1);
    expect(await h.sessions.find(userId, s.sessionId)).toBeUndefined();
  });
});
