/**
 * GET /v1/admin/audit time and target filters: `from` is inclusive-after and
 * `to` before the given instants, either may be given alone, a window whose
 * end is not after its start is 400 VALIDATION_FAILED naming `to`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/runtime/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { makeAdmin } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";

interface Entry {
  seq: number;
  at: string;
  action: string;
  target: string | null;
}

describe.each(testModes())("GET /v1/admin/audit time and target filters (%s)", (mode) => {
  let t: TestApp;
  let clock: ManualClock;
  let adminToken: string;
  let early: { userId: string };
  let late: { userId: string };
  let between: number;
  beforeAll(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    t = await createTestApp(mode, { clock });
    const admin = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, admin.userId);
    early = await registerAndLogin(t.app);
    clock.advance(3_600_000);
    between = clock.now() - 1_800_000;
    late = await registerAndLogin(t.app);
    // Logged in after the clock moved: an access token lives less than an hour.
    adminToken = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken;
  });
  afterAll(() => t.close());

  const query = async (qs: string) => {
    const res = await call(t.app, { method: "GET", url: `/v1/admin/audit?limit=100&${qs}`, token: adminToken });
    expect(res.statusCode, res.body).toBe(200);
    return res.data.entries as Entry[];
  };
  const iso = (ms: number) => new Date(ms).toISOString();

  it("from alone, to alone and both bound the entries by time", async () => {
    const after = await query(`from=${iso(between)}`);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((e) => Date.parse(e.at) >= between)).toBe(true);
    expect(after.some((e) => e.target === `user:${late.userId}`)).toBe(true);
    expect(after.some((e) => e.target === `user:${early.userId}`)).toBe(false);

    const before = await query(`to=${iso(between)}`);
    expect(before.every((e) => Date.parse(e.at) < between)).toBe(true);
    expect(before.some((e) => e.target === `user:${early.userId}`)).toBe(true);
    expect(before.some((e) => e.target === `user:${late.userId}`)).toBe(false);

    const window = await query(`from=${iso(between - 3_600_000)}&to=${iso(between)}`);
    expect(window.map((e) => e.seq).sort()).toEqual(before.map((e) => e.seq).sort());
  });

  it("target selects one user's entries", async () => {
    const entries = await query(`target=${encodeURIComponent(`user:${late.userId}`)}`);
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.target === `user:${late.userId}`)).toBe(true);
  });

  it("a window whose end is not after its start is 400 VALIDATION_FAILED on querystring.to", async () => {
    for (const [from, to] of [
      [between, between],
      [between, between - 1000],
    ] as const) {
      const res = await call(t.app, { method: "GET", url: `/v1/admin/audit?from=${iso(from)}&to=${iso(to)}`, token: adminToken });
      expect(res.statusCode).toBe(400);
      expect(res.code).toBe("VALIDATION_FAILED");
      expect(JSON.parse(res.body).details.fields).toEqual([{ path: "querystring.to", message: "must be after `from`" }]);
    }
  });
});
