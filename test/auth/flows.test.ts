import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, credentials, registerAndLogin } from "../helpers/api.js";
import { testModes } from "../helpers/modes.js";

describe.each(testModes())("identity flows (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t.close());

  it("registers, logs in, reads /me; a duplicate email gets the same 202 as a new one", async () => {
    const creds = credentials();
    const reg = await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds });
    expect(reg.statusCode).toBe(202);
    expect(reg.data).toEqual({ accepted: true });
    const dup = await call(t.app, { method: "POST", url: "/v1/auth/register", body: { ...creds, email: creds.email.toUpperCase(), password: "a different passphrase for the dup" } });
    expect(dup.statusCode).toBe(202);
    expect(dup.data).toEqual(reg.data);
    const login = await call(t.app, { method: "POST", url: "/v1/auth/login", body: creds });
    expect(login.statusCode).toBe(200);
    expect(login.data).toMatchObject({ tokenType: "Bearer", expiresIn: 900 });
    expect(login.data.user).toMatchObject({ email: creds.email, roles: ["user"], mfaEnabled: false, emailVerified: false });
    // The second registration changed nothing: its password does not log in.
    expect((await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: creds.email, password: "a different passphrase for the dup" } })).code).toBe("INVALID_CREDENTIALS");
    const me = await call(t.app, { method: "GET", url: "/v1/me", token: login.data.accessToken });
    expect(me.statusCode).toBe(200);
    expect(me.data.user.email).toBe(creds.email);
  });

  it("with AUTH_REGISTRATION_CONFLICT=explicit, registers with 201 and refuses a duplicate email with 409 EMAIL_TAKEN", async () => {
    const explicit = await createTestApp(mode, { env: { AUTH_REGISTRATION_CONFLICT: "explicit" } });
    try {
      const creds = credentials();
      const reg = await call(explicit.app, { method: "POST", url: "/v1/auth/register", body: creds });
      expect(reg.statusCode).toBe(201);
      expect(reg.data.user).toMatchObject({ email: creds.email, roles: ["user"], mfaEnabled: false, emailVerified: false });
      const dup = await call(explicit.app, { method: "POST", url: "/v1/auth/register", body: { ...creds, email: creds.email.toUpperCase() } });
      expect(dup.statusCode).toBe(409);
      expect(dup.code).toBe("EMAIL_TAKEN");
      const login = await call(explicit.app, { method: "POST", url: "/v1/auth/login", body: creds });
      expect(login.data.user.id).toBe(reg.data.user.id);
    } finally {
      await explicit.close();
    }
  });

  it("wrong password and unknown email give the same 401 INVALID_CREDENTIALS", async () => {
    const u = await registerAndLogin(t.app);
    const wrong = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: "not the right password at all" } });
    const unknown = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: `nobody.${Date.now()}@example.com`, password: "not the right password at all" } });
    for (const r of [wrong, unknown]) {
      expect(r.statusCode).toBe(401);
      expect(r.code).toBe("INVALID_CREDENTIALS");
    }
    expect(wrong.json().message).toBe(unknown.json().message);
  });

  it("refresh rotates; logout revokes the access token at once", async () => {
    const u = await registerAndLogin(t.app);
    const r1 = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: u.refreshToken } });
    expect(r1.statusCode).toBe(200);
    expect(r1.data.refreshToken).not.toBe(u.refreshToken);
    const out = await call(t.app, { method: "POST", url: "/v1/auth/logout", token: r1.data.accessToken });
    expect(out.statusCode).toBe(200);
    const after = await call(t.app, { method: "GET", url: "/v1/me", token: r1.data.accessToken });
    expect(after.statusCode).toBe(401);
    expect(after.code).toBe("TOKEN_REVOKED");
  });

  it("a user reaching an admin route gets 403 FORBIDDEN; without a token 401", async () => {
    const u = await registerAndLogin(t.app);
    expect((await call(t.app, { method: "GET", url: "/v1/admin/users", token: u.accessToken })).code).toBe("FORBIDDEN");
    expect((await call(t.app, { method: "GET", url: "/v1/admin/users" })).code).toBe("UNAUTHENTICATED");
  });
});
