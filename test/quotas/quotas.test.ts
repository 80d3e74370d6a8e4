/**
 * Quotas on the composed server in both storage modes: the `api.requests`
 * meter warns from 80 % and refuses at 100 % with the reset time, counts
 * atomically under concurrency, rolls over at UTC midnight, follows an
 * admin's plan change at once, and reports through `/v1/me/usage` and
 * `/v1/admin/usage`; usage survives a restart of the instance.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SecurityEvent } from "../../src/events/index.js";
import { ManualClock } from "../../src/runtime/index.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { makeAdmin } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";

const PLANS = JSON.stringify({ tiny: { "api.requests": { day: 10 } }, roomy: { "api.requests": { day: 1000, month: 5000 } } });
const env = { RAMPART_PLANS: PLANS, RAMPART_DEFAULT_PLAN: "tiny" };
const NOON = Date.UTC(2026, 2, 10, 12, 0, 0);
const MIDNIGHT = Date.UTC(2026, 2, 11);

describe.each(testModes())("api.requests quota (%s)", (mode) => {
  let t: TestApp;
  const clock = new ManualClock(NOON);
  const events: SecurityEvent[] = [];
  let admin: Awaited<ReturnType<typeof registerAndLogin>>;
  beforeAll(async () => {
    t = await createTestApp(mode, { clock, env });
    t.runtime.events.on((e) => {
      if (e.name.startsWith("quota.")) events.push(e);
    });
    const a = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, a.userId);
    // The admin's own requests count too: give them room.
    await t.app.quotas.setPlan(a.userId, a.userId, "roomy");
    admin = { ...a, accessToken: (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: a.email, password: a.password } })).data.accessToken };
  });
  afterAll(() => t?.close());

  const me = (token: string) => call(t.app, { method: "GET", url: "/v1/me", token });

  it("warns from 80 % (X-Quota-Warning, one quota.warning event) and refuses at 100 % with Retry-After and the reset time", async () => {
    const u = await registerAndLogin(t.app);
    const warnings: (string | undefined)[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await me(u.accessToken);
      expect(res.statusCode).toBe(200);
      warnings.push(res.headers["x-quota-warning"] as string | undefined);
    }
    expect(warnings.slice(0, 7)).toEqual(Array(7).fill(undefined));
    expect(warnings[7]).toBe(`"api.requests";period="day";used=8;limit=10;reset="2026-03-11T00:00:00.000Z"`);
    expect(warnings[9]).toContain("used=10;limit=10");
    const mine = (name: string) => events.filter((e) => e.name === name && e.target === `user:${u.userId}`);
    expect(mine("quota.warning")).toHaveLength(1);
    expect(mine("quota.warning")[0]!.data).toMatchObject({ meter: "api.requests", period: "day", used: 8, limit: 10 });

    for (let i = 0; i < 2; i++) {
      const refused = await me(u.accessToken);
      expect(refused.statusCode).toBe(429);
      expect(refused.code).toBe("QUOTA_EXCEEDED");
      expect(refused.headers["retry-after"]).toBe(String((MIDNIGHT - NOON) / 1000));
      expect(JSON.parse(refused.body).details).toEqual({ meter: "api.requests", period: "day", used: 10, limit: 10, requested: 1, resetsAt: "2026-03-11T00:00:00.000Z" });
    }
    expect(mine("quota.exceeded")).toHaveLength(1);
    // What was admitted, like the 429's details: the refused unit is not in it.
    expect(mine("quota.exceeded")[0]!.data).toMatchObject({ meter: "api.requests", period: "day", used: 10, limit: 10 });

    // The usage endpoint is not counted, so a user at the limit still learns when it resets.
    const usage = await call(t.app, { method: "GET", url: "/v1/me/usage", token: u.accessToken });
    expect(usage.statusCode).toBe(200);
    expect(usage.data.plan).toBe("tiny");
    expect(usage.data.meters).toContainEqual({ meter: "api.requests", period: "day", used: 10, limit: 10, resetsAt: "2026-03-11T00:00:00.000Z" });
    expect(usage.data.meters).toContainEqual({ meter: "api.requests", period: "month", used: 10, limit: null, resetsAt: "2026-04-01T00:00:00.000Z" });
    expect(usage.data.meters).toContainEqual({ meter: "files.bytes", period: "month", used: 0, limit: null, resetsAt: "2026-04-01T00:00:00.000Z" });
  });

  it("counts atomically: N parallel requests at the limit admit exactly the remainder", async () => {
    const u = await registerAndLogin(t.app);
    for (let i = 0; i < 3; i++) expect((await me(u.accessToken)).statusCode).toBe(200);
    const results = await Promise.all(Array.from({ length: 20 }, () => me(u.accessToken)));
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(7);
    expect(codes.filter((c) => c === 429)).toHaveLength(13);
    const usage = await call(t.app, { method: "GET", url: "/v1/me/usage", token: u.accessToken });
    expect(usage.data.meters.find((m: { period: string; meter: string }) => m.meter === "api.requests" && m.period === "day").used).toBe(10);
  });

  it("counts unknown routes too (an authenticated 404 costs a request), not unauthenticated ones", async () => {
    const u = await registerAndLogin(t.app);
    expect((await call(t.app, { method: "GET", url: "/v1/no-such-route", token: u.accessToken })).statusCode).toBe(404);
    expect((await call(t.app, { method: "GET", url: "/v1/me" })).statusCode).toBe(401);
    const usage = await call(t.app, { method: "GET", url: "/v1/me/usage", token: u.accessToken });
    expect(usage.data.meters.find((m: { period: string; meter: string }) => m.meter === "api.requests" && m.period === "day").used).toBe(1);
  });

  it("an admin's plan change takes effect at once; unknown plans and users are refused; only users:write may", async () => {
    const u = await registerAndLogin(t.app);
    const denied = await call(t.app, { method: "PUT", url: `/v1/admin/users/${u.userId}/plan`, token: u.accessToken, body: { plan: "roomy" } });
    expect(denied.statusCode).toBe(403);
    for (let i = 0; i < 9; i++) await me(u.accessToken);
    expect((await me(u.accessToken)).statusCode).toBe(429);

    const unknownPlan = await call(t.app, { method: "PUT", url: `/v1/admin/users/${u.userId}/plan`, token: admin.accessToken, body: { plan: "gold" } });
    expect(unknownPlan.statusCode).toBe(400);
    expect(unknownPlan.code).toBe("VALIDATION_FAILED");
    const unknownUser = await call(t.app, { method: "PUT", url: "/v1/admin/users/nobody/plan", token: admin.accessToken, body: { plan: "roomy" } });
    expect(unknownUser.statusCode).toBe(404);

    const changed = await call(t.app, { method: "PUT", url: `/v1/admin/users/${u.userId}/plan`, token: admin.accessToken, body: { plan: "roomy" } });
    expect(changed.statusCode).toBe(200);
    expect(changed.data).toEqual({ userId: u.userId, plan: "roomy" });
    expect((await me(u.accessToken)).statusCode).toBe(200);
    const usage = await call(t.app, { method: "GET", url: "/v1/me/usage", token: u.accessToken });
    expect(usage.data.plan).toBe("roomy");
    expect(usage.data.meters).toContainEqual(expect.objectContaining({ meter: "api.requests", period: "day", used: 11, limit: 1000 }));
    expect(usage.data.meters).toContainEqual(expect.objectContaining({ meter: "api.requests", period: "month", used: 11, limit: 5000 }));
    expect(events.some((e) => e.name === "quota.plan.changed" && e.target === `user:${u.userId}` && (e.data as { to: string }).to === "roomy")).toBe(true);
  });

  it("/v1/admin/usage lists the top consumers per meter and period (usage:read only)", async () => {
    const heavy = await registerAndLogin(t.app);
    for (let i = 0; i < 9; i++) await me(heavy.accessToken);
    // Refused by its guard, but still a request: it counts (the quota hook runs first).
    const denied = await call(t.app, { method: "GET", url: "/v1/admin/usage", token: heavy.accessToken });
    expect(denied.statusCode).toBe(403);
    const all = await call(t.app, { method: "GET", url: "/v1/admin/usage", token: admin.accessToken });
    expect(all.statusCode).toBe(200);
    expect(all.data.meters.map((m: { meter: string; period: string }) => `${m.meter}/${m.period}`)).toEqual(["api.requests/day", "api.requests/month", "files.bytes/day", "files.bytes/month"]);
    const day = await call(t.app, { method: "GET", url: "/v1/admin/usage?meter=api.requests&period=day&limit=100", token: admin.accessToken });
    const [report] = day.data.meters;
    expect(report).toMatchObject({ meter: "api.requests", period: "day", periodStart: "2026-03-10T00:00:00.000Z", resetsAt: "2026-03-11T00:00:00.000Z" });
    expect(report.users).toContainEqual({ userId: heavy.userId, plan: "tiny", used: 10, limit: 10 });
    const used = report.users.map((u: { used: number }) => u.used);
    expect(used).toEqual([...used].sort((a, b) => b - a));
    const top1 = await call(t.app, { method: "GET", url: "/v1/admin/usage?meter=api.requests&period=day&limit=1", token: admin.accessToken });
    expect(top1.data.meters[0].users).toHaveLength(1);
    expect((await call(t.app, { method: "GET", url: "/v1/admin/usage?meter=bogus", token: admin.accessToken })).statusCode).toBe(400);
  });

  it("rolls over at 00:00 UTC: a refused user is admitted again the next day", async () => {
    clock.set(MIDNIGHT - 60_000);
    const u = await registerAndLogin(t.app);
    for (let i = 0; i < 10; i++) expect((await me(u.accessToken)).statusCode).toBe(200);
    const refused = await me(u.accessToken);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers["retry-after"]).toBe("60");
    clock.advance(60_000);
    const next = await me(u.accessToken);
    expect(next.statusCode).toBe(200);
    expect(next.headers["x-quota-warning"]).toBeUndefined();
    const usage = await call(t.app, { method: "GET", url: "/v1/me/usage", token: u.accessToken });
    expect(usage.data.meters).toContainEqual({ meter: "api.requests", period: "day", used: 1, limit: 10, resetsAt: "2026-03-12T00:00:00.000Z" });
    expect(usage.data.meters).toContainEqual(expect.objectContaining({ meter: "api.requests", period: "month", used: 11 }));
  });
});

describe.each(testModes())("quota usage across a restart (%s)", (mode) => {
  it("a new instance on the same stores continues the count (persisted at shutdown)", async () => {
    const clock = new ManualClock(NOON);
    const first = await createTestApp(mode, { clock, env });
    let second: TestApp | undefined;
    try {
      const u = await registerAndLogin(first.app);
      for (let i = 0; i < 4; i++) expect((await call(first.app, { method: "GET", url: "/v1/me", token: u.accessToken })).statusCode).toBe(200);
      await first.app.close();
      await first.runtime.close();
      second = await createTestApp(mode, { clock, env, testEnv: first.env });
      const usage = await call(second.app, { method: "GET", url: "/v1/me/usage", token: u.accessToken });
      expect(usage.data.meters).toContainEqual(expect.objectContaining({ meter: "api.requests", period: "day", used: 4 }));
      const codes: number[] = [];
      for (let i = 0; i < 7; i++) codes.push((await call(second.app, { method: "GET", url: "/v1/me", token: u.accessToken })).statusCode);
      expect(codes).toEqual([200, 200, 200, 200, 200, 200, 429]);
    } finally {
      await second?.close();
      await first.env.cleanup();
    }
  }, 120_000);
});
