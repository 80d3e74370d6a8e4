/**
 * Threat: in production behind a TLS-terminating proxy, a client reaches the
 * API over plain HTTP (a typed http:// link, a downgraded connection) and
 * sends or receives credentials in clear text; or an attacker uses the
 * redirect to send users elsewhere (Host header or crafted request target),
 * or fakes X-Forwarded-Proto from outside the trusted proxies.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testModes } from "../helpers/modes.js";
import { buildAppWith, productionSettings, PUBLIC_URL, type BuiltApp } from "./helpers.js";

describe.each(testModes())("plain HTTP in production behind a trusted proxy (%s)", (mode) => {
  let p: BuiltApp;
  beforeAll(async () => {
    p = await buildAppWith(mode, { ...productionSettings(), TRUST_PROXY: "127.0.0.1" });
  });
  afterAll(() => p.close());

  const viaProxy = (proto: string, extra: Record<string, string> = {}) => ({ "x-forwarded-proto": proto, "x-forwarded-for": "203.0.113.9", ...extra });

  it("redirects GET and HEAD with 308 to RAMPART_PUBLIC_URL, keeping path and query, whatever the Host header says", async () => {
    for (const method of ["GET", "HEAD"] as const) {
      const res = await p.app.inject({ method, url: "/v1/me?x=1&y=%2F", remoteAddress: "127.0.0.1", headers: viaProxy("http", { host: "evil.example" }) });
      expect(res.statusCode, method).toBe(308);
      expect(res.headers.location, method).toBe("https://api.example.test/v1/me?x=1&y=%2F");
      // The redirect is a response like any other: it carries the security headers.
      expect(res.headers["x-frame-options"], method).toBe("DENY");
      expect(String(res.headers["strict-transport-security"])).toMatch(/max-age=31536000/);
    }
  });

  it("never lets the request target change the redirect's host", async () => {
    for (const url of ["//evil.example/x", "/\\evil.example/x", "/%2F%2Fevil.example"]) {
      const res = await p.app.inject({ method: "GET", url, remoteAddress: "127.0.0.1", headers: viaProxy("http") });
      expect(res.statusCode, url).toBe(308);
      expect(new URL(String(res.headers.location)).origin, url).toBe(PUBLIC_URL);
    }
  });

  it("refuses other methods with 403 FORBIDDEN instead of redirecting a request whose body already travelled in clear", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const) {
      const res = await p.app.inject({ method, url: "/v1/auth/login", payload: method === "OPTIONS" || method === "DELETE" ? undefined : { email: "a@example.com", password: "x" }, remoteAddress: "127.0.0.1", headers: viaProxy("http") });
      expect(res.statusCode, method).toBe(403);
      expect(res.json(), method).toMatchObject({ success: false, code: "FORBIDDEN" });
      expect(res.headers.location, method).toBeUndefined();
    }
  });

  it("serves HTTPS requests normally", async () => {
    const res = await p.app.inject({ method: "GET", url: "/v1/me", remoteAddress: "127.0.0.1", headers: viaProxy("https") });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe("UNAUTHENTICATED");
  });

  it("answers health probes over plain HTTP (load balancers probe the instance directly)", async () => {
    const res = await p.app.inject({ method: "GET", url: "/health/live", remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(200);
  });

  it("ignores X-Forwarded-Proto from a peer that is not a trusted proxy", async () => {
    const res = await p.app.inject({ method: "GET", url: "/v1/me", remoteAddress: "198.51.100.7", headers: viaProxy("https") });
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toBe("https://api.example.test/v1/me");
  });
});

describe("plain HTTP outside production", () => {
  it("is served (development runs on http://localhost)", async () => {
    const p = await buildAppWith("embedded", { TRUST_PROXY: "true", RAMPART_PUBLIC_URL: PUBLIC_URL });
    try {
      const res = await p.app.inject({ method: "GET", url: "/v1/me", headers: { "x-forwarded-proto": "http" } });
      expect(res.statusCode).toBe(401);
    } finally {
      await p.close();
    }
  });
});
