/**
 * Quota meters of the host app through the `rampart` plugin on a bare
 * Fastify instance: app code consumes `llm.tokens` with
 * `app.rampart.quotas.consume(principal, meter, n)` and gets what the
 * built-in meters get — the X-Quota-Warning header and one `quota.warning`
 * event from 80 %, `429 QUOTA_EXCEEDED` with Retry-After at the limit, the
 * meter in `/v1/me/usage` and `/v1/admin/usage`. Plans naming a meter nobody
 * registered, and app meters clashing with built-in ones, fail at start;
 * consuming an unregistered meter is a programming error naming it.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SecurityEvent } from "../../src/events/index.js";
import { ManualClock, ok, rampart, type Runtime } from "../../src/index.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { pollUntil } from "../helpers/async.js";
import { makeAdmin } from "../helpers/identity.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { startupError } from "../helpers/host-app.js";
import { createTestRuntime } from "../helpers/runtime.js";

// The app's meter names are typed by augmenting AppMeters (checked by the project's tsc run).
declare module "../../src/index.js" {
  interface AppMeters {
    "llm.tokens": true;
  }
}

const PLANS = JSON.stringify({ free: { "api.requests": { day: 1000 }, "llm.tokens": { day: 100 } } });
const NOON = Date.UTC(2026, 2, 10, 12, 0, 0);

describe.each(testModes())("app quota meters through the rampart plugin (%s)", (mode) => {
  let env: TestEnv;
  let runtime: Runtime;
  let app: FastifyInstance;
  const events: SecurityEvent[] = [];
  beforeAll(async () => {
    env = await createTestEnv(mode, { RAMPART_PLANS: PLANS });
    ({ runtime } = await createTestRuntime(env, { clock: new ManualClock(NOON) }));
    runtime.events.on((e) => {
      if (e.name.startsWith("quota.")) events.push(e);
    });
    app = Fastify();
    await app.register(rampart, { runtime, routes: { identity: true, quotas: true }, quotas: { meters: ["llm.tokens"] } });
    app.post("/reports", async (request) => {
      const tokens = Number((request.query as { tokens: string }).tokens);
      const { states } = await app.rampart.quotas.consume(app.rampart.principalOf(request), "llm.tokens", tokens);
      return ok(request, { used: states.find((s) => s.period === "day")!.used });
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    await env?.cleanup();
  });

  const report = (token: string, tokens: number) => call(app, { method: "POST", url: `/reports?tokens=${tokens}`, token });

  it("warns from 80 % (header and one event), refuses past the limit with 429 QUOTA_EXCEEDED, admits up to it", async () => {
    const user = await registerAndLogin(app);
    const first = await report(user.accessToken, 70);
    expect(first.statusCode).toBe(200);
    expect(first.headers["x-quota-warning"]).toBeUndefined();

    const warned = await report(user.accessToken, 15);
    expect(warned.statusCode).toBe(200);
    expect(warned.data.used).toBe(85);
    expect(warned.headers["x-quota-warning"]).toBe('"llm.tokens";period="day";used=85;limit=100;reset="2026-03-11T00:00:00.000Z"');
    const mine = (name: string) => events.filter((e) => e.name === name && (e.data as { meter?: string })?.meter === "llm.tokens" && e.target === `user:${user.userId}`);
    expect((await pollUntil(async () => mine("quota.warning"), (w) => w.length > 0)).map((e) => e.data)).toEqual([{ meter: "llm.tokens", period: "day", used: 85, limit: 100, resetsAt: "2026-03-11T00:00:00.000Z" }]);

    const refused = await report(user.accessToken, 20);
    expect(refused.statusCode).toBe(429);
    expect(refused.code).toBe("QUOTA_EXCEEDED");
    expect(refused.json().details).toEqual({ meter: "llm.tokens", period: "day", used: 85, limit: 100, requested: 20, resetsAt: "2026-03-11T00:00:00.000Z" });
    expect(refused.headers["retry-after"]).toBe(String(12 * 3600));
    expect(await pollUntil(async () => mine("quota.exceeded").length, (n) => n > 0)).toBe(1);

    // The refusal took nothing: exactly the rest of the allowance is still admitted.
    const last = await report(user.accessToken, 15);
    expect(last.statusCode).toBe(200);
    expect(last.data.used).toBe(100);
    expect(mine("quota.warning")).toHaveLength(1);

    const usage = await call(app, { method: "GET", url: "/v1/me/usage", token: user.accessToken });
    expect(usage.statusCode).toBe(200);
    const llm = usage.data.meters.filter((m: { meter: string }) => m.meter === "llm.tokens");
    expect(llm).toEqual([
      { meter: "llm.tokens", period: "day", used: 100, limit: 100, resetsAt: "2026-03-11T00:00:00.000Z" },
      { meter: "llm.tokens", period: "month", used: 100, limit: null, resetsAt: "2026-04-01T00:00:00.000Z" },
    ]);
  });

  it("lists the app meter's heaviest users in /v1/admin/usage, and validates the meter query against the registered meters", async () => {
    const admin = await registerAndLogin(app);
    await makeAdmin(app, runtime, admin.userId);
    const token = (await call(app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken as string;
    const heavy = await registerAndLogin(app);
    expect((await report(heavy.accessToken, 60)).statusCode).toBe(200);
    const res = await call(app, { method: "GET", url: "/v1/admin/usage?meter=llm.tokens&period=day", token });
    expect(res.statusCode).toBe(200);
    expect(res.data.meters).toHaveLength(1);
    expect(res.data.meters[0].meter).toBe("llm.tokens");
    expect(res.data.meters[0].users).toContainEqual({ userId: heavy.userId, plan: "free", used: 60, limit: 100 });
    const unknown = await call(app, { method: "GET", url: "/v1/admin/usage?meter=llm.tokenz", token });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.code).toBe("VALIDATION_FAILED");
  });

  it("consuming a meter nobody registered, or a negative amount, is a programming error naming it", async () => {
    const user = await registerAndLogin(app);
    // @ts-expect-error not an AppMeters name
    await expect(app.rampart.quotas.consume(user.userId, "llm.tokenz", 1)).rejects.toThrow(/unknown quota meter 'llm\.tokenz'; known: api\.requests, files\.bytes, llm\.tokens/);
    await expect(app.rampart.quotas.consume(user.userId, "llm.tokens", -1)).rejects.toThrow(/integer >= 0, instead got -1/);
  });

  /** Another app on the same runtime (whose RAMPART_PLANS limits llm.tokens): the error its start fails with. */
  const startError = (options: { quotas?: { meters: string[] } }) => startupError({ ...options, runtime });

  it("a plan naming a meter that was not registered stops the start, naming the meter and the plan", async () => {
    const err = await startError({});
    expect(err?.message).toMatch(/^RAMPART_PLANS: expected meters that exist \(api\.requests, files\.bytes; .*\), instead got unknown meter 'llm\.tokens' in plan 'free'$/);
  });

  it.each([
    [["api.requests"], /quota meter 'api\.requests' clashes with a built-in meter/],
    [["llm.tokens", "llm.tokens"], /quota meter 'llm\.tokens' is registered twice/],
    [["LLM tokens"], /dotted lower-case words .* instead got 'LLM tokens'/],
  ])("app meters %j are refused at start", async (meters, message) => {
    expect((await startError({ quotas: { meters } }))?.message).toMatch(message);
  });
});
