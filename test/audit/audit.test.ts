import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENESIS_HASH, entryHash } from "../../src/audit/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { makeAdmin } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";

describe.each(testModes())("audit log (%s)", (mode) => {
  let t: TestApp;
  let adminToken: string;
  beforeAll(async () => {
    t = await createTestApp(mode);
    const admin = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, admin.userId);
    adminToken = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken;
  });
  afterAll(() => t.close());

  it("records audited events in the same transaction as the change, chained by hash", async () => {
    const u = await registerAndLogin(t.app);
    await call(t.app, { method: "POST", url: "/v1/api-keys", token: u.accessToken, body: { name: "k", scopes: ["me:read"] } });
    const rows = await t.runtime.db.kysely.selectFrom("rampart_audit_log").selectAll().orderBy("seq").execute();
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(["auth.registered", "apikey.created"]));
    // Recompute the chain independently from the stored rows.
    let prev = GENESIS_HASH;
    rows.forEach((r, i) => {
      expect(Number(r.seq)).toBe(i + 1);
      expect(r.prev_hash).toBe(prev);
      expect(entryHash(prev, { seq: Number(r.seq), at: r.at, actorType: r.actor_type, actorId: r.actor_id, action: r.action, target: r.target, ipHash: r.ip_hash, traceId: r.trace_id, data: r.data })).toBe(r.hash);
      prev = r.hash;
    });
    // No personal data in clear: users are referenced by id, the IP only as a keyed hash.
    const text = JSON.stringify(rows);
    expect(text).not.toContain(u.email);
    expect(text).not.toContain("127.0.0.1");
    const registered = rows.find((r) => r.action === "auth.registered" && r.actor_id === u.userId)!;
    expect(registered.target).toBe(`user:${u.userId}`);
    expect(registered.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it("a change that rolls back leaves no audit entry", async () => {
    const before = await t.runtime.audit.head();
    await expect(
      t.runtime.db.kysely.transaction().execute(async (trx) => {
        await t.runtime.events.emit("user.updated", { actor: { type: "system" }, target: "user:x", data: { fields: ["name"] } }, trx);
        throw new Error("the change fails");
      }),
    ).rejects.toThrow("the change fails");
    expect(await t.runtime.audit.head()).toEqual(before);
    expect((await t.runtime.audit.verify()).ok).toBe(true);
  });

  it("GET /v1/admin/audit filters and paginates; /verify reports a valid chain; users are refused", async () => {
    const u = await registerAndLogin(t.app);
    await call(t.app, { method: "POST", url: "/v1/auth/logout-all", token: u.accessToken });
    const byActor = await call(t.app, { method: "GET", url: `/v1/admin/audit?actor=${u.userId}`, token: adminToken });
    expect(byActor.statusCode).toBe(200);
    expect(byActor.data.entries.map((e: { action: string }) => e.action).sort()).toEqual(["auth.registered", "auth.sessions.revoked"]);
    const page1 = await call(t.app, { method: "GET", url: "/v1/admin/audit?limit=2", token: adminToken });
    expect(page1.data.entries).toHaveLength(2);
    const page2 = await call(t.app, { method: "GET", url: `/v1/admin/audit?limit=2&cursor=${page1.data.nextCursor}`, token: adminToken });
    expect(page2.data.entries[0].seq).toBeLessThan(page1.data.entries[1].seq);
    const byAction = await call(t.app, { method: "GET", url: "/v1/admin/audit?action=auth.sessions.revoked", token: adminToken });
    expect(byAction.data.entries.every((e: { action: string }) => e.action === "auth.sessions.revoked")).toBe(true);
    const verify = await call(t.app, { method: "GET", url: "/v1/admin/audit/verify", token: adminToken });
    expect(verify.data).toMatchObject({ ok: true });
    expect((await call(t.app, { method: "GET", url: "/v1/admin/audit", token: u.accessToken })).statusCode).toBe(401);
    const other = await registerAndLogin(t.app);
    expect((await call(t.app, { method: "GET", url: "/v1/admin/audit", token: other.accessToken })).code).toBe("FORBIDDEN");
  });
});
