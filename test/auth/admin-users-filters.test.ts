/**
 * `GET /v1/admin/users` filters: role, status, MFA, plan and creation time
 * (plain columns) and the exact email, each alone and combined with AND, with
 * keyset paging that neither skips nor repeats a row (ties on the creation
 * time included, and rows changing between pages), cursors bound to their
 * filter set, every bad value a 400 in the envelope, and a non-admin refused.
 * The expected lists come from a model of the users the test made, ordered
 * as the API orders them (creation time, then id).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { enableMfa, makeAdmin } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";

interface Person {
  id: string;
  email: string;
  roles: string[];
  status: "active" | "disabled";
  mfa: boolean;
  plan: string | null;
  createdAt: Date;
}

const BASE = Date.parse("2024-03-01T00:00:00.000Z");
const minute = (n: number) => new Date(BASE + n * 60_000);

describe.each(testModes())("admin user list filters (%s)", (mode) => {
  let t: TestApp;
  let token = "";
  let userToken = "";
  const people: Person[] = [];
  const passwords = new Map<string, string>();

  beforeAll(async () => {
    t = await createTestApp(mode, { env: { RAMPART_PLANS: '{"free":{},"pro":{}}', RAMPART_DEFAULT_PLAN: "free" } });
    const admin = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, admin.userId);
    token = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken;
    people.push({ id: admin.userId, email: admin.email, roles: ["admin", "user"], status: "active", mfa: false, plan: null, createdAt: minute(0) });
    for (let i = 1; i <= 8; i++) {
      const u = await registerAndLogin(t.app);
      if (i === 1) userToken = u.accessToken;
      passwords.set(u.userId, u.password);
      people.push({ id: u.userId, email: u.email, roles: ["user"], status: "active", mfa: false, plan: null, createdAt: minute(i) });
    }
    const [, , u2, u3, u4, u5, u6, u7] = people as [Person, Person, Person, Person, Person, Person, Person, Person, Person];
    // Through the API where it has a route: disabling, the plan; MFA by a real enrolment.
    expect((await call(t.app, { method: "POST", url: `/v1/admin/users/${u2.id}/disable`, token })).statusCode).toBe(200);
    u2.status = "disabled";
    for (const p of [u4, u5, u7]) {
      expect((await call(t.app, { method: "PUT", url: `/v1/admin/users/${p.id}/plan`, token, body: { plan: "pro" } })).statusCode).toBe(200);
      p.plan = "pro";
    }
    // "free" named explicitly is the same plan as none.
    expect((await call(t.app, { method: "PUT", url: `/v1/admin/users/${u6.id}/plan`, token, body: { plan: "free" } })).statusCode).toBe(200);
    u6.plan = "free";
    await makeAdmin(t.app, t.runtime, u5.id);
    u5.roles = ["admin", "user"];
    expect((await call(t.app, { method: "PUT", url: `/v1/admin/users/${u7.id}/roles`, token, body: { roles: ["admin"] } })).statusCode).toBe(200);
    u7.roles = ["admin"];
    await enableMfa(t.app, await loginToken(u3), Date.now());
    u3.mfa = true;
    // Known creation times, three of them equal (a page boundary falls inside the tie).
    for (const p of [u4, u5, u6]) p.createdAt = minute(4);
    for (const p of people) await t.runtime.db.kysely.updateTable("rampart_users").set({ created_at: p.createdAt }).where("id", "=", p.id).execute();
    const inDb = await t.runtime.db.kysely.selectFrom("rampart_users").select("id").where("status", "!=", "erased").execute();
    expect(inDb.map((r) => r.id).sort()).toEqual(people.map((p) => p.id).sort());
  });
  afterAll(() => t?.close());

  async function loginToken(p: Person): Promise<string> {
    const res = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: p.email, password: passwords.get(p.id) } });
    expect(res.statusCode, res.body).toBe(200);
    return res.data.accessToken as string;
  }

  const expected = (keep: (p: Person) => boolean) =>
    people
      .filter(keep)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((p) => p.id);

  const list = (params: Record<string, string>) => call(t.app, { method: "GET", url: `/v1/admin/users?${new URLSearchParams(params).toString()}`, token });

  /** Every page of a listing; checks the page size and that the last page has no cursor. */
  async function listAll(params: Record<string, string>, limit = 100): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list({ ...params, limit: String(limit), ...(cursor ? { cursor } : {}) });
      expect(res.statusCode, res.body).toBe(200);
      const users = res.data.users as { id: string }[];
      expect(users.length).toBeLessThanOrEqual(limit);
      if (res.data.nextCursor) expect(users).toHaveLength(limit);
      ids.push(...users.map((u) => u.id));
      cursor = res.data.nextCursor as string | null;
      pages++;
    } while (cursor);
    return { ids, pages };
  }

  it("each filter alone selects exactly the matching users", async () => {
    const at = (n: number) => minute(n).toISOString();
    const cases: [Record<string, string>, (p: Person) => boolean][] = [
      [{}, () => true],
      [{ role: "admin" }, (p) => p.roles.includes("admin")],
      [{ role: "user" }, (p) => p.roles.includes("user")],
      [{ status: "disabled" }, (p) => p.status === "disabled"],
      [{ status: "active" }, (p) => p.status === "active"],
      [{ mfa: "true" }, (p) => p.mfa],
      [{ mfa: "false" }, (p) => !p.mfa],
      [{ plan: "pro" }, (p) => p.plan === "pro"],
      [{ plan: "free" }, (p) => p.plan === null || p.plan === "free"],
      [{ createdAfter: at(4) }, (p) => p.createdAt >= minute(4)],
      [{ createdBefore: at(4) }, (p) => p.createdAt < minute(4)],
      [{ email: people[3]!.email.toUpperCase() }, (p) => p.id === people[3]!.id],
    ];
    for (const [params, keep] of cases) {
      const want = expected(keep);
      expect(want.length, JSON.stringify(params)).toBeGreaterThan(0);
      if (Object.keys(params).length > 0) expect(want.length, JSON.stringify(params)).toBeLessThan(people.length);
      expect((await listAll(params)).ids, JSON.stringify(params)).toEqual(want);
    }
    // The listed fields agree with the filters.
    const admins = (await list({ role: "admin" })).data.users as { roles: string[] }[];
    for (const u of admins) expect(u.roles).toContain("admin");
    const withMfa = (await list({ mfa: "true" })).data.users as { mfaEnabled: boolean }[];
    for (const u of withMfa) expect(u.mfaEnabled).toBe(true);
  });

  it("filters combine with AND", async () => {
    const cases: [Record<string, string>, (p: Person) => boolean][] = [
      [{ role: "admin", plan: "pro" }, (p) => p.roles.includes("admin") && p.plan === "pro"],
      [{ status: "active", mfa: "false", plan: "free" }, (p) => p.status === "active" && !p.mfa && p.plan !== "pro"],
      [{ createdAfter: minute(2).toISOString(), createdBefore: minute(6).toISOString(), plan: "pro" }, (p) => p.createdAt >= minute(2) && p.createdAt < minute(6) && p.plan === "pro"],
      [{ role: "user", status: "active", mfa: "true" }, (p) => p.status === "active" && p.mfa],
    ];
    for (const [params, keep] of cases) {
      const want = expected(keep);
      expect(want.length, JSON.stringify(params)).toBeGreaterThan(0);
      expect((await listAll(params)).ids, JSON.stringify(params)).toEqual(want);
    }
    // An exact email with a filter it does not pass: nothing.
    const pro = people.find((p) => p.plan === "pro")!;
    expect((await list({ email: pro.email, plan: "free" })).data.users).toEqual([]);
    expect((await list({ email: pro.email, plan: "pro" })).data.users.map((u: { id: string }) => u.id)).toEqual([pro.id]);
  });

  it("pages through a filtered set with no gap or repeat, across a tie and rows changing between pages", async () => {
    const params = { status: "active", mfa: "false" };
    const want = expected((p) => p.status === "active" && !p.mfa);
    for (const limit of [1, 2, 3]) {
      const { ids, pages } = await listAll(params, limit);
      expect(pages).toBeGreaterThan(1);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(want);
    }
    // A row of the first page leaving the filter while paging does not shift the rest.
    const first = await list({ ...params, limit: "2" });
    const gone = people.find((p) => p.id === first.data.users[0].id)!;
    await t.runtime.db.kysely.updateTable("rampart_users").set({ status: "disabled" }).where("id", "=", gone.id).execute();
    try {
      const rest: string[] = [];
      let cursor = first.data.nextCursor as string | null;
      while (cursor) {
        const res = await list({ ...params, limit: "2", cursor });
        rest.push(...res.data.users.map((u: { id: string }) => u.id));
        cursor = res.data.nextCursor;
      }
      expect([...first.data.users.map((u: { id: string }) => u.id), ...rest]).toEqual(want);
    } finally {
      await t.runtime.db.kysely.updateTable("rampart_users").set({ status: "active" }).where("id", "=", gone.id).execute();
    }
  });

  it("a cursor is valid only with the filters it was issued for", async () => {
    const page = await list({ status: "active", limit: "2" });
    const cursor = page.data.nextCursor as string;
    expect(cursor).toEqual(expect.any(String));
    // Another page size keeps it valid: the size is not a filter.
    expect((await list({ status: "active", limit: "3", cursor })).statusCode).toBe(200);
    const others: Record<string, string>[] = [{ status: "disabled" }, {}, { status: "active", plan: "free" }, { status: "active", createdAfter: minute(0).toISOString() }];
    for (const other of others) {
      const res = await list({ ...other, limit: "2", cursor });
      expect(res.statusCode, JSON.stringify(other)).toBe(400);
      expect(res.code).toBe("VALIDATION_FAILED");
      expect(res.json().details.fields[0].path).toBe("querystring.cursor");
    }
  });

  it("refuses bad values with 400 VALIDATION_FAILED naming the parameter", async () => {
    const pageCursor = (await list({ limit: "1" })).data.nextCursor as string;
    const cases: [Record<string, string>, string][] = [
      [{ status: "erased" }, "querystring.status"],
      [{ status: "ACTIVE" }, "querystring.status"],
      [{ mfa: "yes" }, "querystring.mfa"],
      [{ role: "nosuchrole" }, "querystring.role"],
      [{ role: "Admin!" }, "querystring.role"],
      [{ plan: "gold" }, "querystring.plan"],
      [{ plan: "Pro Plan" }, "querystring.plan"],
      [{ createdAfter: "yesterday" }, "querystring.createdAfter"],
      [{ createdBefore: "2024-13-01T00:00:00Z" }, "querystring.createdBefore"],
      [{ createdAfter: minute(5).toISOString(), createdBefore: minute(5).toISOString() }, "querystring.createdBefore"],
      [{ email: "not-an-email" }, "querystring.email"],
      [{ locked: "true" }, "querystring.locked"],
      [{ cursor: "garbage" }, "querystring.cursor"],
      [{ cursor: pageCursor.slice(0, pageCursor.lastIndexOf(".")) }, "querystring.cursor"],
      [{ limit: "0" }, "querystring.limit"],
    ];
    for (const [params, path] of cases) {
      const res = await list(params);
      expect(res.statusCode, JSON.stringify(params)).toBe(400);
      expect(res.json()).toMatchObject({ success: false, code: "VALIDATION_FAILED" });
      expect(res.json().details.fields.map((f: { path: string }) => f.path), JSON.stringify(params)).toContain(path);
    }
  });

  it("a user without users:read gets 403 FORBIDDEN, filters or not", async () => {
    for (const qs of ["", "?role=admin", "?status=active&mfa=false"]) {
      const res = await call(t.app, { method: "GET", url: `/v1/admin/users${qs}`, token: userToken });
      expect(res.statusCode).toBe(403);
      expect(res.code).toBe("FORBIDDEN");
    }
  });
});
