/**
 * Threat: an intruder who once held the account (a stolen password or
 * session) keeps access after the owner recovers it — through an API key they
 * minted (or a key minted by that key), a session opened before the reset, or
 * a reset link mailed before the owner changed the password. Recovery must
 * leave them nothing; what logout-all, disabling and a role change end is
 * pinned alongside (docs/identity.md, "What ends what").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { enableMfa, makeAdmin } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";

/** The token of the newest reset link mailed to `email` (the development transport logs the message). */
async function resetLinkFor(t: TestApp, email: string, seen: Set<string>): Promise<string> {
  const end = Date.now() + 10_000;
  for (;;) {
    for (const r of t.logs.records()) {
      const mail = r.mail as { to?: string; text?: string } | undefined;
      const m = mail?.to === email ? /reset-password\?token=([A-Za-z0-9_%-]+)/.exec(mail.text ?? "") : null;
      if (m && !seen.has(m[1]!)) {
        seen.add(m[1]!);
        return decodeURIComponent(m[1]!);
      }
    }
    if (Date.now() > end) throw new Error(`no reset mail for ${email}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(testModes())("recovery ends an intruder's access (%s)", (mode) => {
  let t: TestApp;
  const seen = new Set<string>();
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t.close());

  const forgot = async (email: string) => {
    expect((await call(t.app, { method: "POST", url: "/v1/auth/password/forgot", body: { email } })).statusCode).toBe(202);
    return resetLinkFor(t, email, seen);
  };

  it("a reset ends the intruder's session, their API key and every key that key minted", async () => {
    const owner = await registerAndLogin(t.app);
    // The intruder logs in with the stolen password and mints a key, then a key from that key.
    const intruder = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: owner.email, password: owner.password } });
    const k1 = await call(t.app, { method: "POST", url: "/v1/api-keys", token: intruder.data.accessToken, body: { name: "backup", scopes: ["api-keys:write", "me:read"], password: owner.password } });
    expect(k1.statusCode).toBe(201);
    const k2 = await call(t.app, { method: "POST", url: "/v1/api-keys", token: k1.data.key, body: { name: "backup-2", scopes: ["me:read"] } });
    expect(k2.statusCode).toBe(201);
    for (const key of [k1.data.key, k2.data.key]) expect((await call(t.app, { method: "GET", url: "/v1/me", token: key })).statusCode).toBe(200);

    const token = await forgot(owner.email);
    const newPassword = "the owner takes the account back";
    const reset = await call(t.app, { method: "POST", url: "/v1/auth/password/reset", body: { token, newPassword } });
    expect(reset.statusCode).toBe(200);
    expect(reset.data).toEqual({ sessionsRevoked: 2, apiKeysRevoked: 2 });

    for (const key of [k1.data.key, k2.data.key]) {
      const res = await call(t.app, { method: "GET", url: "/v1/me", token: key });
      expect(res.statusCode).toBe(401);
      expect(res.code).toBe("UNAUTHENTICATED");
    }
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: intruder.data.accessToken })).code).toBe("TOKEN_REVOKED");
    expect((await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: intruder.data.refreshToken } })).statusCode).toBe(401);
    // The owner, logged in again, sees no key left and no session but their own.
    const back = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: owner.email, password: newPassword } });
    expect((await call(t.app, { method: "GET", url: "/v1/api-keys", token: back.data.accessToken })).data.apiKeys).toEqual([]);
    expect((await call(t.app, { method: "GET", url: "/v1/auth/sessions", token: back.data.accessToken })).data.sessions).toHaveLength(1);
    const audit = await t.runtime.db.kysely.selectFrom("rampart_audit_log").select(["target", "data"]).where("action", "=", "apikey.revoked").execute();
    for (const id of [k1.data.id, k2.data.id]) expect(JSON.parse(audit.find((a) => a.target === `apikey:${id}`)!.data)).toMatchObject({ reason: "password-reset" });
  });

  it("a reset ends an MFA login the intruder had started with the old password", async () => {
    const owner = await registerAndLogin(t.app);
    const { backupCodes } = await enableMfa(t.app, owner.accessToken, Date.now());
    // The intruder holds the password and one backup code, and stops at the second step.
    const step1 = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: owner.email, password: owner.password } });
    expect(step1.data.mfaRequired).toBe(true);
    const token = await forgot(owner.email);
    expect((await call(t.app, { method: "POST", url: "/v1/auth/password/reset", body: { token, newPassword: "owner recovered the account" } })).statusCode).toBe(200);
    const step2 = await call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken: step1.data.mfaToken, code: backupCodes[0] } });
    expect(step2.statusCode).toBe(401);
    expect(step2.data).toBeUndefined();
    // The owner logs in with the new password and the same backup code, unspent.
    const again = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: owner.email, password: "owner recovered the account" } });
    expect((await call(t.app, { method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken: again.data.mfaToken, code: backupCodes[0] } })).statusCode).toBe(200);
  });

  it("keys minted while the reset runs never survive it", async () => {
    const owner = await registerAndLogin(t.app);
    const intruder = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: owner.email, password: owner.password } });
    const parent = await call(t.app, { method: "POST", url: "/v1/api-keys", token: intruder.data.accessToken, body: { name: "p", scopes: ["api-keys:write", "me:read"], password: owner.password } });
    const token = await forgot(owner.email);
    // The intruder mints keys from their session and from their key while the owner resets.
    const minting = Array.from({ length: 16 }, (_, i) =>
      call(t.app, { method: "POST", url: "/v1/api-keys", token: i % 2 === 0 ? intruder.data.accessToken : parent.data.key, body: { name: `race-${i}`, scopes: ["me:read"] } }),
    );
    const [reset, ...minted] = await Promise.all([call(t.app, { method: "POST", url: "/v1/auth/password/reset", body: { token, newPassword: "reset during the race" } }), ...minting]);
    expect(reset.statusCode).toBe(200);
    for (const m of minted) {
      if (m.statusCode !== 201) {
        expect(m.statusCode).toBe(401);
        continue;
      }
      expect((await call(t.app, { method: "GET", url: "/v1/me", token: m.data.key })).statusCode).toBe(401);
    }
    const live = await t.runtime.db.kysely.selectFrom("rampart_api_keys").select("id").where("user_id", "=", owner.userId).where("revoked_at", "is", null).execute();
    expect(live).toEqual([]);
  });

  it("a session revoked in the database cannot mint a key in the moment before its revocation reaches every instance", async () => {
    const owner = await registerAndLogin(t.app);
    // The reset has committed; the shared revocation list has not been written yet.
    await t.runtime.db.kysely.updateTable("rampart_sessions").set({ revoked_at: new Date(), revoke_reason: "password-reset" }).where("user_id", "=", owner.userId).execute();
    const minted = await call(t.app, { method: "POST", url: "/v1/api-keys", token: owner.accessToken, body: { name: "late", scopes: ["me:read"] } });
    expect(minted.statusCode).toBe(401);
    expect(minted.code).toBe("TOKEN_REVOKED");
    expect(await t.runtime.db.kysely.selectFrom("rampart_api_keys").select("id").where("user_id", "=", owner.userId).execute()).toEqual([]);
  });

  it("a reset link mailed before a password change no longer resets the password", async () => {
    const owner = await registerAndLogin(t.app);
    // The intruder asks for a link (they read the owner's mail); the owner then changes the password.
    const stale = await forgot(owner.email);
    const changed = "owner changed it after the mail";
    expect((await call(t.app, { method: "POST", url: "/v1/auth/password/change", token: owner.accessToken, body: { currentPassword: owner.password, newPassword: changed } })).statusCode).toBe(200);
    const reuse = await call(t.app, { method: "POST", url: "/v1/auth/password/reset", body: { token: stale, newPassword: "the intruder's own password" } });
    expect(reuse.statusCode).toBe(400);
    expect(reuse.code).toBe("VALIDATION_FAILED");
    expect(reuse.json().details.fields[0].path).toBe("body.token");
    expect((await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: owner.email, password: "the intruder's own password" } })).code).toBe("INVALID_CREDENTIALS");
    expect((await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: owner.email, password: changed } })).statusCode).toBe(200);
    // A link asked for after the change still works: only older links died.
    const fresh = await forgot(owner.email);
    expect((await call(t.app, { method: "POST", url: "/v1/auth/password/reset", body: { token: fresh, newPassword: "a later legitimate reset" } })).statusCode).toBe(200);
  });

  it("logout-all ends every session and refresh token but leaves API keys (documented), which the owner revokes one by one", async () => {
    const owner = await registerAndLogin(t.app);
    const key = await call(t.app, { method: "POST", url: "/v1/api-keys", token: owner.accessToken, body: { name: "ci", scopes: ["me:read"] } });
    expect((await call(t.app, { method: "POST", url: "/v1/auth/logout-all", token: owner.accessToken })).data).toEqual({ sessionsRevoked: 1 });
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: owner.accessToken })).code).toBe("TOKEN_REVOKED");
    expect((await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: owner.refreshToken } })).statusCode).toBe(401);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: key.data.key })).statusCode).toBe(200);
  });

  it("a disabled account's keys stop at once, and a demoted admin's key loses the admin permissions at once", async () => {
    const admin = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, admin.userId);
    const adminToken = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken as string;
    const victim = await registerAndLogin(t.app);
    const victimKey = await call(t.app, { method: "POST", url: "/v1/api-keys", token: victim.accessToken, body: { name: "v", scopes: ["me:read"] } });
    expect((await call(t.app, { method: "POST", url: `/v1/admin/users/${victim.userId}/disable`, token: adminToken, body: {} })).statusCode).toBe(200);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: victimKey.data.key })).code).toBe("UNAUTHENTICATED");

    const other = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, other.userId);
    const otherToken = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: other.email, password: other.password } })).data.accessToken as string;
    const otherKey = await call(t.app, { method: "POST", url: "/v1/api-keys", token: otherToken, body: { name: "ops", scopes: ["users:read"], password: other.password } });
    expect((await call(t.app, { method: "GET", url: "/v1/admin/users", token: otherKey.data.key })).statusCode).toBe(200);
    const demoted = await call(t.app, { method: "PUT", url: `/v1/admin/users/${other.userId}/roles`, token: adminToken, body: { roles: ["user"] } });
    expect(demoted.statusCode).toBe(200);
    expect((await call(t.app, { method: "GET", url: "/v1/admin/users", token: otherKey.data.key })).code).toBe("FORBIDDEN");
  });
});
