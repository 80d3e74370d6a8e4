/** The server as composed by buildApp limits every route by default, keyed per route policy, and never the health probes. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call } from "../helpers/api.js";
import { testModes } from "../helpers/modes.js";

describe.each(testModes())("rate limits on the composed server (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode, { env: { RATE_LIMIT_ENABLED: "true", RATE_LIMIT_LOGIN_PER_MINUTE: "3", RATE_LIMIT_REQUESTS_PER_MINUTE: "5" } });
  });
  afterAll(() => t.close());

  it("login is limited per IP with 429 RATE_LIMITED, Retry-After and the RateLimit fields", async () => {
    const body = { email: "someone@example.com", password: "whatever password 1" };
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await call(t.app, { method: "POST", url: "/v1/auth/login", body, headers: { "x-forwarded-for": "203.0.113.9" } })).statusCode);
    expect(codes).toEqual([401, 401, 401, 429]);
    const limited = await call(t.app, { method: "POST", url: "/v1/auth/login", body });
    expect(limited.code).toBe("RATE_LIMITED");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.headers["ratelimit-policy"]).toBe('"login";q=3;w=60');
    expect(limited.headers["x-ratelimit-remaining"]).toBe("0");
  });

  it("unknown routes are limited by the default policy; health probes never are", async () => {
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await call(t.app, { method: "GET", url: "/v1/nothing-here" })).statusCode);
    expect(codes).toEqual([404, 404, 404, 404, 404, 429]);
    for (let i = 0; i < 10; i++) expect((await call(t.app, { method: "GET", url: "/health/live" })).statusCode).toBe(200);
    const ready = await call(t.app, { method: "GET", url: "/health/ready" });
    expect(Object.keys(ready.json().checks)).toContain("ratelimit:responseTime");
  });
});
