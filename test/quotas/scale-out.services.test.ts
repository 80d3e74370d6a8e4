/**
 * Quotas with two instances on one PostgreSQL and one Redis: the counters
 * are shared (a limit holds across instances), a plan change on one instance
 * is enforced on the other at once (pub/sub invalidation of the plan cache),
 * and `/v1/admin/usage` on one instance reports what the other counted
 * (persisted usage).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { makeAdmin } from "../helpers/identity.js";

const env = {
  RAMPART_PLANS: JSON.stringify({ tiny: { "api.requests": { day: 10 } }, roomy: { "api.requests": { day: 1000 } } }),
  RAMPART_DEFAULT_PLAN: "tiny",
  QUOTA_PERSIST_INTERVAL_MS: "100",
};

describe("quotas across two instances (postgres + redis)", () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp("postgres", { env });
    b = await createTestApp("postgres", { env, testEnv: a.env });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const me = (t: TestApp, token: string) => call(t.app, { method: "GET", url: "/v1/me", token });

  it("one limit for both instances; a plan change on one is enforced on the other; the admin report sees both", async () => {
    const u = await registerAndLogin(a.app);
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await me(i % 2 === 0 ? a : b, u.accessToken)).statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(10);
    expect(codes.slice(10)).toEqual([429, 429]);

    const adm = await registerAndLogin(a.app);
    await makeAdmin(a.app, a.runtime, adm.userId);
    await b.app.identity.users.changed(adm.userId);
    const admin = { accessToken: (await call(a.app, { method: "POST", url: "/v1/auth/login", body: { email: adm.email, password: adm.password } })).data.accessToken as string };
    // b has the user's plan cached from the requests above.
    expect((await call(a.app, { method: "PUT", url: `/v1/admin/users/${u.userId}/plan`, token: admin.accessToken, body: { plan: "roomy" } })).statusCode).toBe(200);
    await expect.poll(async () => (await me(b, u.accessToken)).statusCode, { timeout: 2000 }).toBe(200);

    // Instance a flushes what it counted; the report on b includes it.
    await new Promise((r) => setTimeout(r, 300));
    const report = await call(b.app, { method: "GET", url: "/v1/admin/usage?meter=api.requests&period=day", token: admin.accessToken });
    expect(report.statusCode).toBe(200);
    const row = report.data.meters[0].users.find((x: { userId: string }) => x.userId === u.userId);
    expect(row).toMatchObject({ plan: "roomy", limit: 1000 });
    expect(row.used).toBeGreaterThanOrEqual(11);
  });
});
