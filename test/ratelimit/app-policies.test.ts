/**
 * The host app's rate-limit policies through the `rampart` plugin on a bare
 * Fastify instance: a named policy limits its route (429 with the headers)
 * without touching the default policy's bucket or counting the request
 * twice against the quota; an inline policy gets a stable derived name;
 * unknown names, clashes with built-in policies and malformed inline
 * policies fail at start, naming them.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, rampart, type Runtime } from "../../src/index.js";
import { inlinePolicyName } from "../../src/ratelimit/index.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { startupError } from "../helpers/host-app.js";
import { createTestRuntime } from "../helpers/runtime.js";

const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

describe("inline policy names", () => {
  it("are valid policy names, at most 64 characters, and differ for routes whose paths slug alike", () => {
    const long = `/v1/${"segment/".repeat(20)}:id`;
    for (const [method, url] of [["GET", "/a/b"], ["GET", "/a-b"], ["POST", "/a/b"], ["GET", "/"], ["GET", long]] as const) {
      expect(inlinePolicyName(method, url)).toMatch(NAME);
    }
    expect(inlinePolicyName("GET", "/a/b")).not.toBe(inlinePolicyName("GET", "/a-b"));
    expect(inlinePolicyName("GET", "/a/b")).not.toBe(inlinePolicyName("POST", "/a/b"));
    expect(inlinePolicyName("GET", long).length).toBeLessThanOrEqual(64);
  });
});

describe.each(testModes())("app rate-limit policies through the rampart plugin (%s)", (mode) => {
  let env: TestEnv;
  let runtime: Runtime;
  let app: FastifyInstance;
  beforeAll(async () => {
    env = await createTestEnv(mode, { RATE_LIMIT_ENABLED: "true", RATE_LIMIT_REQUESTS_PER_MINUTE: "50", RATE_LIMIT_LOGIN_PER_MINUTE: "100", RATE_LIMIT_REGISTER_PER_MINUTE: "100" });
    ({ runtime } = await createTestRuntime(env));
    app = Fastify();
    await app.register(rampart, { runtime, routes: { identity: true, quotas: true }, rateLimit: { policies: [{ name: "notes", limit: 3, windowMs: 60_000, by: "principal" }] } });
    app.get("/notes", { config: { rateLimit: { policy: "notes" } } }, async (request) => ok(request, { listed: true }));
    app.get("/inline", { config: { rateLimit: { limit: 2, windowMs: 60_000, by: "ip" } } }, async (request) => ok(request, { inline: true }));
    app.get("/other", async (request) => ok(request, { other: true }));
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    await env?.cleanup();
  });

  it("an app policy limits its route with 429 and the headers, and counts each request once", async () => {
    const user = await registerAndLogin(app);
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call(app, { method: "GET", url: "/notes", token: user.accessToken });
      expect(res.statusCode).toBe(200);
      expect(res.headers["ratelimit-policy"]).toBe('"notes";q=3;w=60');
      remaining.push(String(res.headers["x-ratelimit-remaining"]));
    }
    expect(remaining).toEqual(["2", "1", "0"]);
    const refused = await call(app, { method: "GET", url: "/notes", token: user.accessToken });
    expect(refused.statusCode).toBe(429);
    expect(refused.code).toBe("RATE_LIMITED");
    expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(refused.headers["ratelimit"]).toMatch(/^"notes";r=0;t=\d+$/);

    // The default policy's bucket of this user was not touched by the four requests above.
    const other = await call(app, { method: "GET", url: "/other", token: user.accessToken });
    expect(other.headers["ratelimit-policy"]).toBe('"default";q=50;w=60');
    expect(other.headers["x-ratelimit-remaining"]).toBe("49");

    // api.requests: the three admitted /notes requests and /other, once each; the refused one not at all.
    const usage = await call(app, { method: "GET", url: "/v1/me/usage", token: user.accessToken });
    const day = usage.data.meters.find((m: { meter: string; period: string }) => m.meter === "api.requests" && m.period === "day");
    expect(day.used).toBe(4);
  });

  it("a second user has a bucket of their own under the app policy", async () => {
    const user = await registerAndLogin(app);
    const res = await call(app, { method: "GET", url: "/notes", token: user.accessToken });
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-ratelimit-remaining"]).toBe("2");
  });

  it("an inline policy limits its route under a name derived from the route", async () => {
    const first = await call(app, { method: "GET", url: "/inline" });
    expect(first.statusCode).toBe(200);
    expect(first.headers["ratelimit-policy"]).toMatch(/^"route\.get\.inline\.[0-9a-f]{6}";q=2;w=60$/);
    expect((await call(app, { method: "GET", url: "/inline" })).statusCode).toBe(200);
    const refused = await call(app, { method: "GET", url: "/inline" });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers["ratelimit-policy"]).toBe(first.headers["ratelimit-policy"]);
    // The refusal is counted under the policy that refused, not the default one.
    const name = /^"([^"]+)"/.exec(String(first.headers["ratelimit-policy"]))![1]!;
    const text = await app.metrics!.render();
    expect(text).toContain(`rampart_rate_limit_rejections_total{policy="${name}"} 1`);
    expect(text).not.toContain(`rampart_rate_limit_rejections_total{policy="default"}`);
  });

  const startWith = (setup: (a: FastifyInstance) => void, policies: { name: string; limit: number; windowMs: number }[] = []) => startupError({ runtime, rateLimit: { policies } }, setup);

  it("a route naming an unknown policy fails at start, naming it", async () => {
    const err = await startWith((a) => a.get("/x", { config: { rateLimit: { policy: "nots" } } }, async () => "x"));
    expect(err?.message).toMatch(/unknown rate-limit policy 'nots'; known: default, login, register, forgot/);
  });

  it.each(["default", "login", "register", "forgot", "route.mine"])("an app policy named '%s' is refused at start", async (name) => {
    const err = await startWith(() => undefined, [{ name, limit: 1, windowMs: 1000 }]);
    expect(err?.message).toContain(`'${name}'`);
    expect(err?.message).toMatch(/clashes with a built-in policy|reserved for inline route policies/);
  });

  it("an inline policy with a bad limit, or with a policy name too, fails at start naming the route", async () => {
    const bad = await startWith((a) => a.get("/y", { config: { rateLimit: { limit: 0, windowMs: 60_000 } } }, async () => "y"));
    expect(bad?.message).toMatch(/inline rate-limit policy of GET \/y: rate-limit policy limit must be an integer/);
    const both = await startWith((a) => a.get("/z", { config: { rateLimit: { policy: "notes", limit: 5, windowMs: 60_000 } as never } }, async () => "z"), [{ name: "notes", limit: 1, windowMs: 1000 }]);
    expect(both?.message).toMatch(/GET \/z names a policy and declares one inline/);
  });
});
