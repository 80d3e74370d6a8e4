/**
 * Threat: a malicious site's scripts read API responses with the user's
 * browser (cross-origin data theft): through a reflected or pattern-matched
 * Origin, the `null` origin of sandboxed frames and file: pages, a wildcard
 * combined with credentials, or a cache that serves one origin's CORS answer
 * to another. Only origins written in CORS_ORIGINS may read, exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/server/app.js";
import { loadConfig } from "../../src/config/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { listHeader } from "./helpers.js";

const APP = "https://app.example.com";
const ADMIN = "https://admin.example.com:8443";

// Written out from the issue, independently of src/http/cors.ts.
const METHODS = ["get", "post", "put", "patch", "delete"];
const ALLOWED_HEADERS = ["authorization", "content-type", "idempotency-key", "x-request-id", "traceparent"];
const EXPOSED = ["x-request-id", "ratelimit", "ratelimit-policy", "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"];

function expectNoCors(headers: Record<string, unknown>, where: string): void {
  for (const h of ["access-control-allow-origin", "access-control-allow-credentials", "access-control-allow-methods", "access-control-allow-headers", "access-control-expose-headers"]) {
    expect(headers[h], `${where}: ${h}`).toBeUndefined();
  }
  expect(listHeader(headers.vary), where).toContain("origin");
}

describe.each(testModes())("CORS allowlist (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode, { env: { CORS_ORIGINS: `${APP}, ${ADMIN}` } });
  });
  afterAll(() => t.close());

  it("lets an allowed origin read responses, naming exactly that origin, and exposes the tracing and rate-limit headers", async () => {
    for (const origin of [APP, ADMIN]) {
      const res = await t.app.inject({ method: "GET", url: "/health/live", headers: { origin } });
      expect(res.statusCode).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBe(origin);
      expect(listHeader(res.headers.vary)).toContain("origin");
      expect(listHeader(res.headers["access-control-expose-headers"])).toEqual(expect.arrayContaining(EXPOSED));
      // Credentials are off unless CORS_ALLOW_CREDENTIALS=true.
      expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
    }
  });

  it("gives other origins nothing: look-alikes, other schemes and ports, prefixes and suffixes are not the same origin", async () => {
    const others = [
      "https://evil.example",
      "https://app.example.com.evil.example",
      "https://evilapp.example.com",
      "https://sub.app.example.com",
      "http://app.example.com",
      "https://app.example.com:444",
      "https://admin.example.com",
      "https://APP.EXAMPLE.COM",
      `${APP}/`,
      `${APP}, https://evil.example`,
      "*",
    ];
    for (const origin of others) {
      const res = await t.app.inject({ method: "GET", url: "/health/live", headers: { origin } });
      expect(res.statusCode, origin).toBe(200);
      expectNoCors(res.headers, origin);
    }
  });

  it("never allows the null origin (sandboxed frames, file: pages, cross-origin redirects)", async () => {
    const res = await t.app.inject({ method: "GET", url: "/health/live", headers: { origin: "null" } });
    expectNoCors(res.headers, "null");
    const pre = await t.app.inject({ method: "OPTIONS", url: "/v1/auth/login", headers: { origin: "null", "access-control-request-method": "POST" } });
    expect(pre.statusCode).toBe(404);
    expectNoCors(pre.headers, "null preflight");
  });

  it("answers an allowed preflight with the API's methods and headers and a cache lifetime", async () => {
    const res = await t.app.inject({
      method: "OPTIONS",
      url: "/v1/auth/login",
      headers: { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" },
    });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe("");
    expect(res.headers["access-control-allow-origin"]).toBe(APP);
    expect(listHeader(res.headers["access-control-allow-methods"]).sort()).toEqual([...METHODS].sort());
    expect(listHeader(res.headers["access-control-allow-headers"]).sort()).toEqual([...ALLOWED_HEADERS].sort());
    expect(res.headers["access-control-max-age"]).toBe("600");
    expect(listHeader(res.headers.vary)).toContain("origin");
    // Preflights are responses too.
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("gives a disallowed origin's preflight a 404 without any CORS header", async () => {
    const res = await t.app.inject({ method: "OPTIONS", url: "/v1/auth/login", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ success: false, code: "NOT_FOUND" });
    expectNoCors(res.headers, "evil preflight");
  });

  it("treats an OPTIONS without Access-Control-Request-Method as no preflight (404 envelope, not a CORS answer)", async () => {
    const res = await t.app.inject({ method: "OPTIONS", url: "/v1/auth/login", headers: { origin: APP } });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe("NOT_FOUND");
    expect(res.headers["access-control-allow-methods"]).toBeUndefined();
  });

  it("adds Vary: Origin when no Origin was sent, so a cache never hands a CORS answer to another origin", async () => {
    const res = await t.app.inject({ method: "GET", url: "/health/live" });
    expectNoCors(res.headers, "no origin");
  });
});

describe("CORS with credentials", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp("embedded", { env: { CORS_ORIGINS: APP, CORS_ALLOW_CREDENTIALS: "true", CORS_MAX_AGE_SECONDS: "120" } });
  });
  afterAll(() => t.close());

  it("allows credentials for the allowed origin only", async () => {
    const ok = await t.app.inject({ method: "GET", url: "/health/live", headers: { origin: APP } });
    expect(ok.headers["access-control-allow-origin"]).toBe(APP);
    expect(ok.headers["access-control-allow-credentials"]).toBe("true");
    const pre = await t.app.inject({ method: "OPTIONS", url: "/v1/me", headers: { origin: APP, "access-control-request-method": "GET" } });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers["access-control-allow-credentials"]).toBe("true");
    expect(pre.headers["access-control-max-age"]).toBe("120");
    const bad = await t.app.inject({ method: "GET", url: "/health/live", headers: { origin: "https://evil.example" } });
    expectNoCors(bad.headers, "evil with credentials");
  });
});

describe("CORS wildcard", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp("embedded", { env: { CORS_ORIGINS: "*" } });
  });
  afterAll(() => t.close());

  it("answers `*` itself, never the caller's origin, and still refuses null", async () => {
    const res = await t.app.inject({ method: "GET", url: "/health/live", headers: { origin: "https://anyone.example" } });
    expect(res.headers["access-control-allow-origin"]).toBe("*");
    expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
    const nul = await t.app.inject({ method: "GET", url: "/health/live", headers: { origin: "null" } });
    expectNoCors(nul.headers, "null with *");
  });

  it("refuses to build an app with `*` and credentials, naming both variables", async () => {
    const config = loadConfig({ ...t.env.env, CORS_ORIGINS: "*", CORS_ALLOW_CREDENTIALS: "true" });
    await expect(buildApp({ ...t.runtime, config })).rejects.toThrow(/CORS_ORIGINS.*CORS_ALLOW_CREDENTIALS=true/);
  });
});

describe("CORS off by default", () => {
  it("gives no origin access when CORS_ORIGINS is unset", async () => {
    const t = await createTestApp("embedded");
    try {
      const res = await t.app.inject({ method: "GET", url: "/health/live", headers: { origin: "http://localhost:3000" } });
      expectNoCors(res.headers, "default");
      const pre = await t.app.inject({ method: "OPTIONS", url: "/v1/me", headers: { origin: "http://localhost:3000", "access-control-request-method": "GET" } });
      expect(pre.statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});
