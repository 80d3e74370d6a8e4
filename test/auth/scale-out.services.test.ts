/**
 * Two server instances sharing PostgreSQL and Redis: a logout on one is
 * refused on the other at once, a refresh race across instances hands out one
 * successor, and both serve the same signing keys. Then a pg_dump of the
 * database holds none of the personal or secret values in plain text.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealContext } from "../../src/auth/tokens/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { enableMfa } from "../helpers/identity.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";

describe("scale-out: two instances on one PostgreSQL + Redis", () => {
  let env: TestEnv;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    env = await createTestEnv("postgres");
    a = await createTestApp("postgres", { testEnv: env });
    b = await createTestApp("postgres", { testEnv: env });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await env.cleanup();
  });

  it("a logout on one instance is refused on the other at once", async () => {
    const u = await registerAndLogin(a.app);
    expect((await call(b.app, { method: "GET", url: "/v1/me", token: u.accessToken })).statusCode).toBe(200);
    expect((await call(a.app, { method: "POST", url: "/v1/auth/logout", token: u.accessToken })).statusCode).toBe(200);
    const after = await call(b.app, { method: "GET", url: "/v1/me", token: u.accessToken });
    expect(after.statusCode).toBe(401);
    expect(after.code).toBe("TOKEN_REVOKED");
  });

  it("an admin disable on one instance ends the user's sessions on the other", async () => {
    const u = await registerAndLogin(a.app);
    const admin = await registerAndLogin(a.app);
    await a.runtime.db.kysely.updateTable("rampart_users").set({ roles: ["admin", "user"] }).where("id", "=", admin.userId).execute();
    await a.app.identity.users.changed(admin.userId);
    const adminToken = (await call(b.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken;
    expect((await call(b.app, { method: "POST", url: `/v1/admin/users/${u.userId}/disable`, token: adminToken })).statusCode).toBe(200);
    expect((await call(a.app, { method: "GET", url: "/v1/me", token: u.accessToken })).code).toBe("TOKEN_REVOKED");
    expect((await call(a.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } })).statusCode).toBe(403);
  });

  it("concurrent refreshes on both instances get one successor", async () => {
    const u = await registerAndLogin(a.app);
    const results = await Promise.all([a, b, a, b, a, b].map((x) => call(x.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: u.refreshToken } })));
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(new Set(results.map((r) => r.data.refreshToken)).size).toBe(1);
  });

  it("both instances publish the same JWKS and accept each other's tokens", async () => {
    const ja = (await a.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json();
    const jb = (await b.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json();
    expect(ja).toEqual(jb);
    const u = await registerAndLogin(b.app);
    expect((await call(a.app, { method: "GET", url: "/v1/me", token: u.accessToken })).statusCode).toBe(200);
  });

  it("a pg_dump holds no email, TOTP secret, token, API key, backup code or private key in plain text", async () => {
    const u = await registerAndLogin(a.app);
    const { secret, backupCodes } = await enableMfa(a.app, u.accessToken, Date.now());
    const key = (await call(a.app, { method: "POST", url: "/v1/api-keys", token: u.accessToken, body: { name: "dump", scopes: ["me:read"] } })).data.key as string;
    await call(a.app, { method: "PATCH", url: "/v1/me", token: u.accessToken, body: { name: "Ada Lovelace-Dumptest" } });
    await call(a.app, { method: "POST", url: "/v1/auth/password/forgot", body: { email: u.email } });
    await new Promise((r) => setTimeout(r, 500));

    const dump = execFileSync("pg_dump", ["--data-only", "--inserts", env.env.DATABASE_URL!], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    expect(dump).toContain("rampart_users");
    const forbidden: [string, string][] = [
      ["email", u.email],
      ["email local part", u.email.split("@")[0]!],
      ["name", "Ada Lovelace-Dumptest"],
      ["password", u.password],
      ["TOTP secret", secret],
      ["refresh token", u.refreshToken],
      ["API key", key],
      ["API key secret part", key.slice(-20)],
      ...backupCodes.map((c): [string, string] => ["backup code", c]),
      ...backupCodes.map((c): [string, string] => ["backup code (canonical)", c.replace(/[^A-Za-z0-9]/g, "")]),
    ];
    const signing = await a.runtime.db.kysely.selectFrom("rampart_signing_keys").select(["kid", "private_key_sealed"]).execute();
    expect(signing.length).toBeGreaterThan(0);
    for (const s of signing) {
      const der = await a.runtime.crypto.decrypt(s.private_key_sealed, sealContext(s.kid));
      const jwk = createPrivateKey({ key: der, format: "der", type: "pkcs8" }).export({ format: "jwk" });
      forbidden.push(["private key (JWK d)", jwk.d!], ["private key (DER, base64)", der.toString("base64").slice(0, 40)], ["private key (DER, hex)", der.toString("hex").slice(-64)]);
    }
    for (const [what, value] of forbidden) expect(dump.includes(value), `${what} appears in pg_dump`).toBe(false);
    expect(dump.toLowerCase().includes(u.email.toLowerCase())).toBe(false);
  });
});
