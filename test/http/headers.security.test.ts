/**
 * Threat: a browser or cache mishandles an API response — frames it
 * (clickjacking), sniffs JSON as HTML (XSS), stores tokens and personal data
 * in a shared or disk cache, leaks URLs in Referer, or lets a network attacker
 * downgrade the connection to plain HTTP (no HSTS, no redirect). Every
 * response, errors included, must carry the protective headers, and the
 * /docs UI must still load under its own policy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { credentials } from "../helpers/api.js";
import { testModes } from "../helpers/modes.js";
import { buildAppWith, cspDirectives, productionSettings, type BuiltApp } from "./helpers.js";

// The values of the header list, written out independently of src/http.
const API_CSP = { "default-src": ["'none'"], "frame-ancestors": ["'none'"] };

function expectApiHeaders(headers: Record<string, unknown>, where: string): void {
  expect(cspDirectives(headers["content-security-policy"]), where).toEqual(API_CSP);
  expect(headers["x-content-type-options"], where).toBe("nosniff");
  expect(headers["referrer-policy"], where).toBe("no-referrer");
  expect(headers["x-frame-options"], where).toBe("DENY");
}

describe.each(testModes())("security headers (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t.close());

  it("puts them on JSON successes, with Cache-Control: no-store, and no HSTS outside production", async () => {
    const res = await t.app.inject({ method: "POST", url: "/v1/auth/register", payload: credentials() });
    expect(res.statusCode).toBe(202);
    expectApiHeaders(res.headers, "register");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers["strict-transport-security"]).toBeUndefined();
  });

  it("puts them on every kind of error response", async () => {
    const cases = [
      { name: "404", req: { method: "GET" as const, url: "/nope" }, status: 404 },
      { name: "401", req: { method: "GET" as const, url: "/v1/me" }, status: 401 },
      { name: "400 validation", req: { method: "POST" as const, url: "/v1/auth/login", payload: { email: "x" } }, status: 400 },
      { name: "400 bad JSON", req: { method: "POST" as const, url: "/v1/auth/login", payload: "{", headers: { "content-type": "application/json" } }, status: 400 },
      { name: "415", req: { method: "POST" as const, url: "/v1/auth/login", payload: "a=b", headers: { "content-type": "application/x-www-form-urlencoded" } }, status: 415 },
      { name: "problem+json", req: { method: "GET" as const, url: "/nope", headers: { accept: "application/problem+json" } }, status: 404 },
    ];
    for (const c of cases) {
      const res = await t.app.inject(c.req);
      expect(res.statusCode, c.name).toBe(c.status);
      expectApiHeaders(res.headers, c.name);
      expect(res.headers["cache-control"], c.name).toBe("no-store");
    }
  });

  it("keeps a cache policy a route chose (the public JWKS) and marks health answers no-store", async () => {
    const jwks = await t.app.inject({ method: "GET", url: "/.well-known/jwks.json" });
    expect(jwks.statusCode).toBe(200);
    expect(jwks.headers["cache-control"]).toMatch(/^public, max-age=\d+$/);
    expectApiHeaders(jwks.headers, "jwks");
    const live = await t.app.inject({ method: "GET", url: "/health/live" });
    expect(live.headers["cache-control"]).toBe("no-store");
    expectApiHeaders(live.headers, "health");
  });

  it("serves /docs under a policy that lets the UI load its own scripts, styles and document, and nothing else", async () => {
    const page = await t.app.inject({ method: "GET", url: "/docs/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    const csp = cspDirectives(page.headers["content-security-policy"]);
    expect(csp["default-src"]).toEqual(["'none'"]);
    expect(csp["script-src"]).toEqual(["'self'"]);
    expect(csp["style-src"]).toEqual(["'self'"]);
    expect(csp["connect-src"]).toContain("'self'");
    expect(csp["frame-ancestors"]).toEqual(["'none'"]);
    expect(csp["object-src"]).toEqual(["'none'"]);
    // Would upgrade the UI's own http:// subresources to https:// on a plain-HTTP host and blank the page.
    expect(csp["upgrade-insecure-requests"]).toBeUndefined();
    for (const values of Object.values(csp)) {
      expect(values).not.toContain("'unsafe-inline'");
      expect(values).not.toContain("'unsafe-eval'");
    }
    expect(page.headers["x-frame-options"]).toBe("DENY");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");

    // Every script and stylesheet the page references loads, same-origin, with the type the CSP and nosniff expect.
    const refs = [...page.body.matchAll(/<(script|link)\b[^>]*?(?:src|href)="([^"]+)"/g)].map((m) => ({ kind: m[1]!, url: new URL(m[2]!, "http://localhost/docs/").pathname }));
    expect(refs.filter((r) => r.kind === "script").length).toBeGreaterThanOrEqual(2);
    for (const ref of refs) {
      const res = await t.app.inject({ method: "GET", url: ref.url });
      expect(res.statusCode, ref.url).toBe(200);
      if (ref.url.endsWith(".js")) expect(res.headers["content-type"], ref.url).toMatch(/javascript/);
      if (ref.url.endsWith(".css")) expect(res.headers["content-type"], ref.url).toMatch(/^text\/css/);
    }
    // The document the UI fetches (connect-src 'self').
    const doc = await t.app.inject({ method: "GET", url: "/docs/json" });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().openapi).toBe("3.1.0");
  });
});

describe.each(testModes())("security headers in production (%s)", (mode) => {
  let p: BuiltApp;
  beforeAll(async () => {
    p = await buildAppWith(mode, productionSettings());
  });
  afterAll(() => p.close());

  it("adds HSTS for one year with includeSubDomains", async () => {
    for (const url of ["/health/live", "/nope", "/docs/"]) {
      const res = await p.app.inject({ method: "GET", url });
      const hsts = String(res.headers["strict-transport-security"]);
      const parts = hsts.split(";").map((s) => s.trim().toLowerCase());
      expect(parts, url).toContain("max-age=31536000");
      expect(parts, url).toContain("includesubdomains");
    }
  });

  it("does not redirect without a trusted proxy (the scheme the client used is unknown)", async () => {
    const res = await p.app.inject({ method: "GET", url: "/v1/me", headers: { "x-forwarded-proto": "http" } });
    expect(res.statusCode).toBe(401);
    expect(res.headers.location).toBeUndefined();
  });
});
