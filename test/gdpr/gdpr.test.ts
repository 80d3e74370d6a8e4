import { basename } from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPORT_TABLES } from "../../src/gdpr/index.js";
import { DecryptionFailed } from "../../src/crypto/index.js";
import { emailContext } from "../../src/auth/users.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { enableMfa, makeAdmin, oathtoolCode } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";
import { filePart, pdf, png } from "../files/fixtures.js";
import { blobPaths, tempFiles, upload } from "../files/helpers.js";

describe.each(testModes())("GDPR (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t.close());

  it("the export covers every table that references a user (enumerated from the foreign keys)", async () => {
    const fks = await sql<{ table_name: string }>`
      select distinct tc.table_name
      from information_schema.table_constraints tc
      join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name and ccu.table_schema = tc.table_schema
      where tc.constraint_type = 'FOREIGN KEY' and ccu.table_name = 'rampart_users'`.execute(t.runtime.db.kysely);
    const referencing = fks.rows.map((r) => r.table_name).sort();
    expect(referencing.length).toBeGreaterThanOrEqual(9);
    expect(Object.keys(EXPORT_TABLES).sort()).toEqual(referencing);

    const u = await registerAndLogin(t.app);
    await call(t.app, { method: "POST", url: "/v1/api-keys", token: u.accessToken, body: { name: "exp", scopes: ["me:read"] } });
    await call(t.app, { method: "PUT", url: "/v1/me/consents/marketing", token: u.accessToken, body: { granted: true } });
    await call(t.app, { method: "PATCH", url: "/v1/me", token: u.accessToken, body: { name: "Grace Hopper" } });
    const res = await call(t.app, { method: "GET", url: "/v1/me/export", token: u.accessToken });
    expect(res.statusCode).toBe(200);
    const data = res.data;
    for (const section of new Set(Object.values(EXPORT_TABLES))) expect(data, `section ${section}`).toHaveProperty(section);
    expect(data.profile).toMatchObject({ id: u.userId, email: u.email, name: "Grace Hopper" });
    expect(data.sessions[0].client).toMatchObject({ ip: "127.0.0.1" });
    expect(data.apiKeys).toHaveLength(1);
    expect(JSON.stringify(data.apiKeys)).not.toMatch(/rp_[A-Za-z0-9]{20,}/);
    expect(data.consents.current.find((c: { purpose: string }) => c.purpose === "marketing")).toMatchObject({ granted: true, policyVersion: "1" });
    expect(data.consents.history[0]).toMatchObject({ purpose: "marketing", granted: true, ip: "127.0.0.1" });
    expect(data.audit.map((a: { action: string }) => a.action)).toEqual(expect.arrayContaining(["auth.registered", "apikey.created", "gdpr.consent.changed", "user.updated"]));
  });

  it("erasure leaves nothing of the user: no row in any table that references them (enumerated from the foreign keys), no blob in the store", async () => {
    const fks = await sql<{ table_name: string; column_name: string }>`
      select distinct kcu.table_name, kcu.column_name
      from information_schema.table_constraints tc
      join information_schema.key_column_usage kcu on kcu.constraint_name = tc.constraint_name and kcu.table_schema = tc.table_schema
      join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name and ccu.table_schema = tc.table_schema
      where tc.constraint_type = 'FOREIGN KEY' and ccu.table_name = 'rampart_users'`.execute(t.runtime.db.kysely);
    expect(fks.rows.map((r) => r.table_name).sort()).toEqual(Object.keys(EXPORT_TABLES).sort());
    const rowsOf = async (userId: string) => {
      const counts: Record<string, number> = {};
      for (const { table_name, column_name } of fks.rows) {
        const r = await sql<{ n: string }>`select count(*) as n from ${sql.table(table_name)} where ${sql.ref(column_name)} = ${userId}`.execute(t.runtime.db.kysely);
        counts[table_name] = Number(r.rows[0]!.n);
      }
      return counts;
    };
    const blobIds = () => new Set(blobPaths(t.runtime).map((p) => basename(p)));

    const u = await registerAndLogin(t.app);
    const other = await registerAndLogin(t.app);
    await call(t.app, { method: "POST", url: "/v1/api-keys", token: u.accessToken, body: { name: "gone", scopes: ["me:read"] } });
    await call(t.app, { method: "PUT", url: "/v1/me/consents/marketing", token: u.accessToken, body: { granted: true } });
    const mine: string[] = [];
    for (const part of [filePart("a.png", png()), filePart("b.pdf", pdf("mine"))]) {
      const res = await upload(t.app, u.accessToken, [part]);
      expect(res.statusCode, res.body).toBe(201);
      mine.push(res.json().data.file.id as string);
    }
    const theirs = (await upload(t.app, other.accessToken, [filePart("c.png", png())])).json().data.file.id as string;
    // The user's data is really there before: every check below could fail.
    expect(Object.values(await rowsOf(u.userId)).some((n) => n > 0)).toBe(true);
    for (const id of mine) expect(blobIds().has(id)).toBe(true);

    const erased = await call(t.app, { method: "DELETE", url: "/v1/me", token: u.accessToken, body: { password: u.password } });
    expect(erased.statusCode, erased.body).toBe(200);

    expect(await rowsOf(u.userId)).toEqual(Object.fromEntries(fks.rows.map((r) => [r.table_name, 0])));
    const left = blobIds();
    for (const id of mine) expect(left.has(id), `blob ${id} of the erased user`).toBe(false);
    expect(left.has(theirs)).toBe(true);
    expect(tempFiles(t.runtime)).toEqual([]);
    // Nothing is left pending for a later pass either.
    expect(await t.runtime.db.kysely.selectFrom("rampart_blob_deletions").select("blob_id").where("blob_id", "in", mine).execute()).toEqual([]);
  });

  it("consent changes are kept as history and audited; unknown purposes are 404", async () => {
    const u = await registerAndLogin(t.app);
    await call(t.app, { method: "PUT", url: "/v1/me/consents/analytics", token: u.accessToken, body: { granted: true } });
    await call(t.app, { method: "PUT", url: "/v1/me/consents/analytics", token: u.accessToken, body: { granted: false } });
    const list = await call(t.app, { method: "GET", url: "/v1/me/consents", token: u.accessToken });
    expect(list.data.consents).toEqual([
      { purpose: "marketing", granted: false, policyVersion: null, updatedAt: null },
      expect.objectContaining({ purpose: "analytics", granted: false, policyVersion: "1" }),
    ]);
    const rows = await t.runtime.db.kysely.selectFrom("rampart_consents").selectAll().where("user_id", "=", u.userId).execute();
    expect(rows).toHaveLength(2);
    const audited = await t.runtime.db.kysely.selectFrom("rampart_audit_log").select("data").where("action", "=", "gdpr.consent.changed").where("actor_id", "=", u.userId).execute();
    expect(audited).toHaveLength(2);
    expect((await call(t.app, { method: "PUT", url: "/v1/me/consents/telepathy", token: u.accessToken, body: { granted: true } })).statusCode).toBe(404);
  });

  it("erasure: needs the password (and MFA), shreds the key so pre-erasure ciphertexts no longer decrypt, frees the email, keeps the audit chain valid", async () => {
    const u = await registerAndLogin(t.app);
    const { secret } = await enableMfa(t.app, u.accessToken, Date.now());
    await call(t.app, { method: "PATCH", url: "/v1/me", token: u.accessToken, body: { name: "To Be Forgotten" } });
    // A "backup" of the user's row, taken before the erasure.
    const before = await t.runtime.db.kysely.selectFrom("rampart_users").selectAll().where("id", "=", u.userId).executeTakeFirstOrThrow();
    expect(await t.runtime.crypto.decryptStringFor(u.userId, before.email_enc!, emailContext(u.userId))).toBe(u.email);

    expect((await call(t.app, { method: "DELETE", url: "/v1/me", token: u.accessToken, body: { password: "wrong password entirely" } })).code).toBe("INVALID_CREDENTIALS");
    expect((await call(t.app, { method: "DELETE", url: "/v1/me", token: u.accessToken, body: { password: u.password } })).code).toBe("INVALID_MFA_CODE");
    const erased = await call(t.app, { method: "DELETE", url: "/v1/me", token: u.accessToken, body: { password: u.password, code: oathtoolCode(secret, Date.now() + 30_000) } });
    expect(erased.statusCode).toBe(200);
    expect(erased.data.receipt).toMatchObject({ userId: u.userId, keyShredded: true, removed: expect.objectContaining({ sessions: 1, backupCodes: 10 }) });

    await expect(t.runtime.crypto.decryptStringFor(u.userId, before.email_enc!, emailContext(u.userId))).rejects.toBeInstanceOf(DecryptionFailed);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: u.accessToken })).statusCode).toBe(401);
    expect((await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } })).code).toBe("INVALID_CREDENTIALS");
    const again = await call(t.app, { method: "POST", url: "/v1/auth/register", body: { email: u.email, password: "a fresh start passphrase" } });
    expect(again.statusCode).toBe(202);
    const fresh = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: "a fresh start passphrase" } });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.data.user.id).not.toBe(u.userId);
    const row = await t.runtime.db.kysely.selectFrom("rampart_users").selectAll().where("id", "=", u.userId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: "erased", email_enc: null, email_bidx: null, name_enc: null, password_hash: null, totp_secret_enc: null });
    const verify = await t.runtime.audit.verify();
    expect(verify.ok).toBe(true);
    const entry = await t.runtime.db.kysely.selectFrom("rampart_audit_log").selectAll().where("action", "=", "gdpr.erased").where("target", "=", `user:${u.userId}`).executeTakeFirstOrThrow();
    expect(entry.data).not.toContain(u.email);
  });

  it("an admin can export and erase a user, with a reason; a user cannot", async () => {
    const admin = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, admin.userId);
    const adminToken = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken;
    const u = await registerAndLogin(t.app);
    const exp = await call(t.app, { method: "GET", url: `/v1/admin/users/${u.userId}/export`, token: adminToken });
    expect(exp.data.profile.email).toBe(u.email);
    expect((await call(t.app, { method: "DELETE", url: `/v1/admin/users/${admin.userId}`, token: u.accessToken, body: { reason: "nope" } })).code).toBe("FORBIDDEN");
    const erased = await call(t.app, { method: "DELETE", url: `/v1/admin/users/${u.userId}`, token: adminToken, body: { reason: "ticket 4711" } });
    expect(erased.statusCode).toBe(200);
    const entry = await t.runtime.db.kysely.selectFrom("rampart_audit_log").selectAll().where("action", "=", "gdpr.erased").where("target", "=", `user:${u.userId}`).executeTakeFirstOrThrow();
    expect(entry.actor_id).toBe(admin.userId);
    expect(JSON.parse(entry.data)).toMatchObject({ reason: "ticket 4711" });
    expect((await call(t.app, { method: "GET", url: `/v1/admin/users/${u.userId}/export`, token: adminToken })).statusCode).toBe(404);
  });

  it("the zip export holds export.json", async () => {
    const u = await registerAndLogin(t.app);
    const res = await t.app.inject({ method: "GET", url: "/v1/me/export?format=zip", headers: { authorization: `Bearer ${u.accessToken}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/zip");
    expect(res.rawPayload.subarray(0, 4).toString("hex")).toBe("504b0304");
    expect(res.rawPayload.includes(Buffer.from("export.json"))).toBe(true);
  });
});
