import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runtime } from "../../src/runtime/index.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";
import { limitedApp, limitedAppOn, sfItem, type LimitedApp } from "./helpers.js";

// Small limits so a handful of requests crosses them: default 3/min (one token
// every 20 s), login 2/min (one every 30 s).
const ENV = { RATE_LIMIT_REQUESTS_PER_MINUTE: "3", RATE_LIMIT_LOGIN_PER_MINUTE: "2" };

describe.each(testModes())("rate-limit plugin (%s)", (mode) => {
  let t: LimitedApp;
  beforeAll(async () => {
    t = await limitedApp(mode, {
      env: ENV,
      routes: (app) => {
        app.get("/test/hello", async () => ({ hello: "world" }));
        app.post("/test/login", { config: { rateLimit: { policy: "login" } } }, async () => ({ ok: true }));
        app.get("/test/heavy", { config: { rateLimit: { cost: 2 } } }, async () => ({ ok: true }));
        app.get("/test/free", { config: { rateLimit: false } }, async () => ({ ok: true }));
      },
    });
  });
  afterAll(() => t.close());

  const get = (url: string, ip: string, headers: Record<string, string> = {}) => t.app.inject({ method: "GET", url, remoteAddress: ip, headers });

  it("every limited response carries X-RateLimit-* and the draft RateLimit / RateLimit-Policy fields", async () => {
    const res = await get("/test/hello", "198.51.100.1");
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-ratelimit-limit"]).toBe("3");
    expect(res.headers["x-ratelimit-remaining"]).toBe("2");
    const policy = sfItem(res.headers["ratelimit-policy"] as string);
    expect(policy).toEqual({ name: "default", params: { q: 3, w: 60 } });
    const state = sfItem(res.headers["ratelimit"] as string);
    expect(state.name).toBe("default");
    expect(state.params.r).toBe(2);
    // One token used: full again after one interval (60 s / 3).
    expect(state.params.t).toBeGreaterThanOrEqual(19);
    expect(state.params.t).toBeLessThanOrEqual(20);
    expect(res.headers["x-ratelimit-reset"]).toBe(String(state.params.t));
    expect(res.headers["retry-after"]).toBeUndefined();
  });

  it("the request past the limit is 429 RATE_LIMITED in the envelope, with Retry-After", async () => {
    for (let i = 0; i < 3; i++) expect((await get("/test/hello", "198.51.100.2")).statusCode).toBe(200);
    const res = await get("/test/hello", "198.51.100.2");
    expect(res.statusCode).toBe(429);
    expect(res.json()).toMatchObject({ success: false, code: "RATE_LIMITED", traceId: res.headers["x-request-id"] });
    const retry = Number(res.headers["retry-after"]);
    expect(retry).toBeGreaterThanOrEqual(19);
    expect(retry).toBeLessThanOrEqual(20);
    expect(res.headers["x-ratelimit-remaining"]).toBe("0");
    expect(sfItem(res.headers["ratelimit"] as string).params.r).toBe(0);
    expect(sfItem(res.headers["ratelimit-policy"] as string)).toEqual({ name: "default", params: { q: 3, w: 60 } });
    const problem = await get("/test/hello", "198.51.100.2", { accept: "application/problem+json" });
    expect(problem.statusCode).toBe(429);
    expect(problem.json()).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    expect(problem.headers["retry-after"]).toBeDefined();
  });

  it("unknown routes are limited too", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await get("/no/such/route", "198.51.100.3");
      expect(res.statusCode).toBe(404);
      expect(res.headers["x-ratelimit-remaining"]).toBe(String(2 - i));
    }
    const res = await get("/no/such/route", "198.51.100.3");
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe("RATE_LIMITED");
  });

  it("a route's policy applies to it alone: login allows 2 per IP and leaves the default bucket alone", async () => {
    const login = () => t.app.inject({ method: "POST", url: "/test/login", remoteAddress: "198.51.100.4", payload: {} });
    expect((await login()).statusCode).toBe(200);
    const second = await login();
    expect(second.statusCode).toBe(200);
    expect(sfItem(second.headers["ratelimit-policy"] as string)).toEqual({ name: "login", params: { q: 2, w: 60 } });
    const third = await login();
    expect(third.statusCode).toBe(429);
    expect(Number(third.headers["retry-after"])).toBeGreaterThanOrEqual(29);
    expect((await get("/test/hello", "198.51.100.4")).headers["x-ratelimit-remaining"]).toBe("2");
  });

  it("the default policy keys authenticated requests by principal, login stays keyed by IP", async () => {
    const ip = "198.51.100.5";
    for (let i = 0; i < 3; i++) expect((await get("/test/hello", ip, { "x-test-user": "alice" })).statusCode).toBe(200);
    expect((await get("/test/hello", ip, { "x-test-user": "alice" })).statusCode).toBe(429);
    // Same IP, another user: a bucket of its own; and alice is limited from any IP.
    expect((await get("/test/hello", ip, { "x-test-user": "bob" })).statusCode).toBe(200);
    expect((await get("/test/hello", "198.51.100.55", { "x-test-user": "alice" })).statusCode).toBe(429);
    const login = (user: string) => t.app.inject({ method: "POST", url: "/test/login", remoteAddress: ip, headers: { "x-test-user": user }, payload: {} });
    expect((await login("carol")).statusCode).toBe(200);
    expect((await login("dave")).statusCode).toBe(200);
    expect((await login("erin")).statusCode).toBe(429);
  });

  it("a route's cost takes several tokens", async () => {
    const res = await get("/test/heavy", "198.51.100.6");
    expect(res.headers["x-ratelimit-remaining"]).toBe("1");
    expect((await get("/test/heavy", "198.51.100.6")).statusCode).toBe(429);
    expect((await get("/test/hello", "198.51.100.6")).statusCode).toBe(200);
  });

  it("rateLimit: false exempts a route", async () => {
    for (let i = 0; i < 6; i++) {
      const res = await get("/test/free", "198.51.100.7");
      expect(res.statusCode).toBe(200);
      expect(res.headers["x-ratelimit-limit"]).toBeUndefined();
    }
  });

  it("counts admitted and refused decisions per policy", async () => {
    const before = t.rl.stats().policies.default!;
    for (let i = 0; i < 4; i++) await get("/test/hello", "198.51.100.8");
    const after = t.rl.stats().policies.default!;
    expect(after.allowed - before.allowed).toBe(3);
    expect(after.denied - before.denied).toBe(1);
  });
});

describe("rate-limit plugin options", () => {
  let env: TestEnv;
  let runtime: Runtime;
  beforeAll(async () => {
    env = await createTestEnv("embedded", { RATE_LIMIT_ENABLED: "true", ...ENV });
    ({ runtime } = await createTestRuntime(env));
  });
  afterAll(async () => {
    await runtime.close();
    await env.cleanup();
  });

  it("RATE_LIMIT_ENABLED=false: no limit and no rate-limit headers", async () => {
    const t = await limitedAppOn(runtime, { config: { rateLimitEnabled: false }, routes: (app) => app.get("/test/hello", async () => ({})) });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await t.app.inject({ method: "GET", url: "/test/hello" });
        expect(res.statusCode).toBe(200);
        expect(res.headers["x-ratelimit-limit"]).toBeUndefined();
      }
    } finally {
      await t.close();
    }
  });

  it("a route naming an unknown policy, or a cost its bucket cannot hold, stops the app from building", async () => {
    await expect(
      limitedAppOn(runtime, { routes: (app) => app.get("/test/typo", { config: { rateLimit: { policy: "logn" } } }, async () => ({})) }),
    ).rejects.toThrow(/unknown rate-limit policy 'logn'; known: default, login, register, forgot/);
    await expect(limitedAppOn(runtime, { routes: (app) => app.get("/test/costly", { config: { rateLimit: { policy: "login", cost: 20 } } }, async () => ({})) })).rejects.toThrow(
      /cost must be an integer from 1 to the burst of 'login' \(2\), instead got 20/,
    );
  });

  it("skip leaves matching requests alone; preHandler mode limits 404s as well", async () => {
    const t = await limitedAppOn(runtime, {
      plugin: { hook: "preHandler", skip: (r) => r.url.startsWith("/health/") },
      routes: (app) => app.get("/test/hello", async () => ({})),
    });
    try {
      for (let i = 0; i < 5; i++) expect((await t.app.inject({ method: "GET", url: "/health/live" })).statusCode).toBe(200);
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await t.app.inject({ method: "GET", url: "/missing" })).statusCode);
      expect(codes).toEqual([404, 404, 404, 429]);
    } finally {
      await t.close();
    }
  });
});
