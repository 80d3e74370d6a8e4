/**
 * Threats: a deployment left without any administrator — the only admin
 * erased, disabled or demoted by some path (the admin erase route, self
 * erasure, two admins removing each other at the same moment); a stolen admin
 * session acting on the admin's own account without the password; the
 * bootstrap admin silently re-created, with the password from the
 * environment, by a restart after it was erased.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disableUser } from "../../src/auth/flows/admin.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, credentials, registerAndLogin } from "../helpers/api.js";
import { enableMfa, makeAdmin, oathtoolCode } from "../helpers/identity.js";
import { createTestEnv, testModes } from "../helpers/modes.js";

describe.each(testModes())("administrative safety (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t.close());

  const login = (email: string, password: string) => call(t.app, { method: "POST", url: "/v1/auth/login", body: { email, password } });
  const newAdmin = async () => {
    const a = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, a.userId);
    return { ...a, accessToken: (await login(a.email, a.password)).data.accessToken as string };
  };
  const adminIds = async () =>
    (await t.runtime.db.kysely.selectFrom("rampart_users").select(["id", "roles", "status"]).where("status", "=", "active").execute()).filter((r) => r.roles.includes("admin")).map((r) => r.id);
  /** Leaves `keep` as the only active admin (earlier tests' admins are demoted in the database). */
  const onlyAdmin = async (keep: string) => {
    for (const id of await adminIds()) if (id !== keep) await t.runtime.db.kysely.updateTable("rampart_users").set({ roles: ["user"] }).where("id", "=", id).execute();
  };

  it("the only admin cannot erase, disable or demote themselves by any path (409), even with the password", async () => {
    const a = await newAdmin();
    await onlyAdmin(a.userId);
    const paths = [
      call(t.app, { method: "DELETE", url: `/v1/admin/users/${a.userId}`, token: a.accessToken, body: { reason: "leaving", password: a.password } }),
      call(t.app, { method: "DELETE", url: "/v1/me", token: a.accessToken, body: { password: a.password } }),
      call(t.app, { method: "POST", url: `/v1/admin/users/${a.userId}/disable`, token: a.accessToken, body: { password: a.password } }),
      call(t.app, { method: "PUT", url: `/v1/admin/users/${a.userId}/roles`, token: a.accessToken, body: { roles: ["user"], password: a.password } }),
    ];
    for (const res of await Promise.all(paths)) {
      expect(res.statusCode, res.body).toBe(409);
      expect(res.code).toBe("CONFLICT");
      expect(res.json().message).toMatch(/last active admin/);
    }
    expect(await adminIds()).toEqual([a.userId]);
    expect((await login(a.email, a.password)).data.user.roles).toContain("admin");
  });

  it("two admins removing each other at once: exactly one succeeds, one admin stays", async () => {
    const a = await newAdmin();
    const b = await newAdmin();
    await onlyAdmin(a.userId);
    await makeAdmin(t.app, t.runtime, b.userId);
    const results = await Promise.all([
      call(t.app, { method: "POST", url: `/v1/admin/users/${b.userId}/disable`, token: a.accessToken }),
      call(t.app, { method: "POST", url: `/v1/admin/users/${a.userId}/disable`, token: b.accessToken }),
    ]);
    // The loser is refused by the guard (409), or finds its own session already ended (401).
    const oneWins = (rs: { statusCode: number }[]) => {
      expect(rs.filter((r) => r.statusCode === 200)).toHaveLength(1);
      expect(rs.filter((r) => r.statusCode === 409 || r.statusCode === 401)).toHaveLength(1);
    };
    oneWins(results);
    expect(await adminIds()).toHaveLength(1);

    // Demotion and erasure race the same way.
    const c = await newAdmin();
    const d = await newAdmin();
    await onlyAdmin(c.userId);
    await makeAdmin(t.app, t.runtime, d.userId);
    const raced = await Promise.all([
      call(t.app, { method: "PUT", url: `/v1/admin/users/${d.userId}/roles`, token: c.accessToken, body: { roles: ["user"] } }),
      call(t.app, { method: "DELETE", url: `/v1/admin/users/${c.userId}`, token: d.accessToken, body: { reason: "offboarding" } }),
    ]);
    oneWins(raced);
    expect(await adminIds()).toHaveLength(1);

    // Without sessions in the way: both removals reach the guard at the same moment, one is refused.
    const e = await newAdmin();
    const f = await newAdmin();
    await onlyAdmin(e.userId);
    await makeAdmin(t.app, t.runtime, f.userId);
    const both = await Promise.allSettled([disableUser(t.app.identity, "ops", e.userId), disableUser(t.app.identity, "ops", f.userId)]);
    expect(both.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = both.find((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(refused?.reason).toMatchObject({ code: "CONFLICT" });
    expect(await adminIds()).toHaveLength(1);
  });

  it("an admin acting on their own account re-authenticates: password, and a code with MFA on", async () => {
    const a = await newAdmin();
    await newAdmin(); // another admin exists, so the last-admin guard is not what refuses below
    const self = (method: "POST" | "PUT" | "DELETE", url: string, body: Record<string, unknown> = {}) => call(t.app, { method, url, token: a.accessToken, body });
    for (const res of [
      await self("PUT", `/v1/admin/users/${a.userId}/roles`, { roles: ["user"] }),
      await self("POST", `/v1/admin/users/${a.userId}/disable`),
      await self("POST", `/v1/admin/users/${a.userId}/unlock`),
      await self("DELETE", `/v1/admin/users/${a.userId}`, { reason: "testing" }),
    ]) {
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().details.fields[0].path).toBe("body.password");
    }
    // A wrong password counts toward the login lockout.
    for (let i = 0; i < 5; i++) expect((await self("PUT", `/v1/admin/users/${a.userId}/roles`, { roles: ["user"], password: "a guessed password 1" })).code).toBe("INVALID_CREDENTIALS");
    expect((await self("PUT", `/v1/admin/users/${a.userId}/roles`, { roles: ["user"], password: a.password })).code).toBe("ACCOUNT_LOCKED");
    // A locked admin cannot lift their own lock: the unlock re-authenticates through it.
    expect((await self("POST", `/v1/admin/users/${a.userId}/unlock`, { password: a.password })).code).toBe("ACCOUNT_LOCKED");
    expect((await login(a.email, a.password)).code).toBe("ACCOUNT_LOCKED");

    const m = await newAdmin();
    const { secret } = await enableMfa(t.app, m.accessToken, Date.now());
    const code = oathtoolCode(secret, Date.now() + 30_000);
    const noCode = await call(t.app, { method: "PUT", url: `/v1/admin/users/${m.userId}/roles`, token: m.accessToken, body: { roles: ["admin", "user"], password: m.password } });
    expect(noCode.code).toBe("INVALID_MFA_CODE");
    const erased = await call(t.app, { method: "DELETE", url: `/v1/admin/users/${m.userId}`, token: m.accessToken, body: { reason: "leaving the team", password: m.password, code } });
    expect(erased.statusCode, erased.body).toBe(200);
    expect((await login(m.email, m.password)).code).toBe("INVALID_CREDENTIALS");
    // Acting on someone else needs no password (the permission guards it).
    const other = await registerAndLogin(t.app);
    expect((await call(t.app, { method: "POST", url: `/v1/admin/users/${other.userId}/disable`, token: (await newAdmin()).accessToken })).statusCode).toBe(200);
  });

  it("the bootstrap admin is created once: erased, it is not re-created by a restart with the variable still set", async () => {
    const boot = credentials();
    const env = await createTestEnv(mode, { RAMPART_BOOTSTRAP_ADMIN_EMAIL: boot.email, RAMPART_SECRET_BOOTSTRAP_ADMIN_PASSWORD: boot.password });
    try {
      const first = await createTestApp(mode, { testEnv: env });
      let bootId: string;
      try {
        const bootLogin = await call(first.app, { method: "POST", url: "/v1/auth/login", body: boot });
        expect(bootLogin.statusCode).toBe(200);
        bootId = bootLogin.data.user.id;
        // A second admin takes over and erases the bootstrap account.
        const next = await registerAndLogin(first.app);
        await makeAdmin(first.app, first.runtime, next.userId);
        const token = (await call(first.app, { method: "POST", url: "/v1/auth/login", body: { email: next.email, password: next.password } })).data.accessToken as string;
        expect((await call(first.app, { method: "DELETE", url: `/v1/admin/users/${bootId}`, token, body: { reason: "bootstrap account retired" } })).statusCode).toBe(200);
      } finally {
        await first.close();
      }
      const second = await createTestApp(mode, { testEnv: env });
      try {
        expect((await call(second.app, { method: "POST", url: "/v1/auth/login", body: boot })).code).toBe("INVALID_CREDENTIALS");
        expect(second.logs.records().some((r) => typeof r.msg === "string" && /bootstrap admin already created once/.test(r.msg))).toBe(true);
        const admins = (await second.runtime.db.kysely.selectFrom("rampart_users").select(["roles", "status"]).execute()).filter((r) => r.status === "active" && r.roles.includes("admin"));
        expect(admins).toHaveLength(1);
      } finally {
        await second.close();
      }
    } finally {
      await env.cleanup();
    }
  });
});
