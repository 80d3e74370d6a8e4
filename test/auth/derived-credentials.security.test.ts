/**
 * Threat: a derived credential that reaches further than the one it came
 * from — a narrowly scoped API key that reads, through a bulk route (the GDPR
 * export), data it could not read directly (files, sessions, keys, pending
 * mail); a key that mints a key with broader scopes or a longer life than its
 * own, or whose children survive its revocation; a key that binds a second
 * factor to the account.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPORT_PERMISSIONS } from "../../src/gdpr/export.js";
import { filePart, multipart, png } from "../files/fixtures.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { makeAdmin } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";

const DAY = 86_400_000;

describe.each(testModes())("a derived credential never exceeds its parent (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t.close());

  const mint = (token: string, body: Record<string, unknown>) => call(t.app, { method: "POST", url: "/v1/api-keys", token, body: { name: "k", ...body } });

  it("a key scoped to me:read cannot export the account (files, sessions, keys), as JSON or zip", async () => {
    const u = await registerAndLogin(t.app);
    const form = multipart([filePart("private.png", png())]);
    const upload = await t.app.inject({ method: "POST", url: "/v1/files", headers: { authorization: `Bearer ${u.accessToken}`, ...form.headers }, payload: form.payload });
    expect(upload.statusCode).toBe(201);
    const key = (await mint(u.accessToken, { scopes: ["me:read"] })).data.key as string;
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: key })).statusCode).toBe(200);
    // What the key cannot read directly...
    for (const url of ["/v1/files", "/v1/auth/sessions", "/v1/api-keys"]) expect((await call(t.app, { method: "GET", url, token: key })).code, url).toBe("FORBIDDEN");
    // ...it cannot read through the export either.
    for (const url of ["/v1/me/export", "/v1/me/export?format=zip"]) {
      const res = await call(t.app, { method: "GET", url, token: key });
      expect(res.statusCode, url).toBe(403);
      expect(res.code).toBe("FORBIDDEN");
    }
    // Every read scope but the export's own is not enough either: pending mail and the audit trail have no read route.
    const reads = (await mint(u.accessToken, { scopes: EXPORT_PERMISSIONS.filter((p) => p !== "me:export") })).data.key as string;
    expect((await call(t.app, { method: "GET", url: "/v1/files", token: reads })).statusCode).toBe(200);
    expect((await call(t.app, { method: "GET", url: "/v1/me/export", token: reads })).code).toBe("FORBIDDEN");
    // A key granted all of them explicitly exports, and so does the owner's session.
    const full = (await mint(u.accessToken, { scopes: [...EXPORT_PERMISSIONS] })).data.key as string;
    const exported = await call(t.app, { method: "GET", url: "/v1/me/export", token: full });
    expect(exported.statusCode).toBe(200);
    expect(exported.data.files).toHaveLength(1);
    expect((await call(t.app, { method: "GET", url: "/v1/me/export", token: u.accessToken })).statusCode).toBe(200);
  });

  it("an admin key scoped to users:read cannot export another user's data; users:export must be named", async () => {
    const admin = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, admin.userId);
    const token = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken as string;
    const victim = await registerAndLogin(t.app);
    const lister = await mint(token, { scopes: ["users:read"], password: admin.password });
    expect(lister.statusCode).toBe(201);
    expect((await call(t.app, { method: "GET", url: "/v1/admin/users", token: lister.data.key })).statusCode).toBe(200);
    expect((await call(t.app, { method: "GET", url: `/v1/admin/users/${victim.userId}/export`, token: lister.data.key })).code).toBe("FORBIDDEN");
    const exporter = await mint(token, { scopes: ["users:read", "users:export"], password: admin.password });
    expect((await call(t.app, { method: "GET", url: `/v1/admin/users/${victim.userId}/export`, token: exporter.data.key })).statusCode).toBe(200);
  });

  it("a key cannot mint a key with a scope it does not hold", async () => {
    const u = await registerAndLogin(t.app);
    const parent = await mint(u.accessToken, { scopes: ["api-keys:write", "me:read"], password: u.password });
    expect(parent.statusCode).toBe(201);
    for (const scopes of [["files:read"], ["me:read", "sessions:read"], ["me:export"], ["users:read"]]) {
      const res = await mint(parent.data.key, { scopes, password: u.password });
      expect(res.code, scopes.join()).toBe("VALIDATION_FAILED");
    }
    expect((await mint(parent.data.key, { scopes: ["me:read"] })).statusCode).toBe(201);
  });

  it("a key cannot mint a key that outlives it; without an expiry the child takes the parent's", async () => {
    const u = await registerAndLogin(t.app);
    const parentExpiry = new Date(Date.now() + DAY).toISOString();
    const parent = await mint(u.accessToken, { scopes: ["api-keys:write", "me:read"], expiresAt: parentExpiry, password: u.password });
    expect(parent.statusCode).toBe(201);
    const later = await mint(parent.data.key, { scopes: ["me:read"], expiresAt: new Date(Date.now() + 30 * DAY).toISOString() });
    expect(later.statusCode).toBe(400);
    expect(later.code).toBe("VALIDATION_FAILED");
    expect(later.json().details.fields[0].path).toBe("body.expiresAt");
    const unbounded = await mint(parent.data.key, { scopes: ["me:read"] });
    expect(unbounded.statusCode).toBe(201);
    expect(unbounded.data.expiresAt).toBe(parentExpiry);
    const sooner = new Date(Date.now() + DAY / 2).toISOString();
    expect((await mint(parent.data.key, { scopes: ["me:read"], expiresAt: sooner })).data.expiresAt).toBe(sooner);
    // A login session may still create a key with no expiry (documented).
    expect((await mint(u.accessToken, { scopes: ["me:read"] })).data.expiresAt).toBeNull();
  });

  it("revoking a key revokes every key minted from it, down the lineage", async () => {
    const u = await registerAndLogin(t.app);
    const parent = await mint(u.accessToken, { scopes: ["api-keys:write", "me:read"], password: u.password });
    const child = await mint(parent.data.key, { scopes: ["api-keys:write", "me:read"], password: u.password });
    expect(child.statusCode).toBe(201);
    const grandchild = await mint(child.data.key, { scopes: ["me:read"] });
    expect([child.data.parentId, grandchild.data.parentId]).toEqual([parent.data.id, child.data.id]);
    const sibling = await mint(u.accessToken, { scopes: ["me:read"] });
    expect((await call(t.app, { method: "DELETE", url: `/v1/api-keys/${parent.data.id}`, token: u.accessToken })).statusCode).toBe(200);
    for (const k of [parent, child, grandchild]) expect((await call(t.app, { method: "GET", url: "/v1/me", token: k.data.key })).code).toBe("UNAUTHENTICATED");
    // A key the session made itself is no one's child and lives on.
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: sibling.data.key })).statusCode).toBe(200);
    const listed = (await call(t.app, { method: "GET", url: "/v1/api-keys", token: u.accessToken })).data.apiKeys as { id: string }[];
    expect(listed.map((k) => k.id)).toEqual([sibling.data.id]);
  });

  it("an API key can neither be given mfa:write nor use it (it would bind a second factor to the account)", async () => {
    const u = await registerAndLogin(t.app);
    const asked = await mint(u.accessToken, { scopes: ["mfa:write"], password: u.password });
    expect(asked.statusCode).toBe(400);
    expect(asked.code).toBe("VALIDATION_FAILED");
    // A key stored with the scope (created before the rule) still cannot enroll.
    const old = await mint(u.accessToken, { scopes: ["me:read"] });
    await t.runtime.db.kysely.updateTable("rampart_api_keys").set({ scopes: ["me:read", "mfa:write"] }).where("id", "=", old.data.id).execute();
    const enroll = await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/enroll", token: old.data.key });
    expect(enroll.statusCode).toBe(403);
    expect(enroll.json().data).toBeUndefined();
    expect((await call(t.app, { method: "POST", url: "/v1/auth/mfa/totp/enroll", token: u.accessToken })).statusCode).toBe(200);
  });
});
