/**
 * Threats: script injection into the console (a missing or weakened CSP on
 * any console answer: the HTML, its assets, the client-route fallback, an
 * error), a refresh token readable by page scripts or sent to other routes,
 * and cross-site request forgery with the refresh cookie (another origin, or
 * a request without the console's custom header, gets 403 and no tokens).
 * The JSON API answers non-console clients exactly as before.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cookieModeSettings, refreshTokenFromCookie } from "../../src/auth/flows/console-session.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, credentials } from "../helpers/api.js";
import { testModes } from "../helpers/modes.js";
import { ROOT } from "../helpers/process.js";
import { ensureConsoleBuilt } from "./build.js";

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

describe("cookie mode settings", () => {
  it("Secure in production and on an HTTPS public URL, not on plain-HTTP development; own origin accepted outside production only", () => {
    expect(cookieModeSettings({ nodeEnv: "production", publicUrl: "https://id.example.com/" })).toEqual({ publicOrigin: "https://id.example.com", secure: true, acceptOwnOrigin: false });
    expect(cookieModeSettings({ nodeEnv: "development", publicUrl: "https://id.example.com" }).secure).toBe(true);
    expect(cookieModeSettings({ nodeEnv: "development", publicUrl: "http://127.0.0.1:8080" })).toEqual({ publicOrigin: "http://127.0.0.1:8080", secure: false, acceptOwnOrigin: true });
  });
  it("reads only its own cookie, and only a well-formed value", () => {
    expect(refreshTokenFromCookie("a=1; rampart_refresh=AbcdefGhijklmnop_-12; b=2")).toBe("AbcdefGhijklmnop_-12");
    expect(refreshTokenFromCookie("xrampart_refresh=AbcdefGhijklmnop_-12")).toBeUndefined();
    expect(refreshTokenFromCookie("rampart_refresh=<script>alert(1)</script>")).toBeUndefined();
    expect(refreshTokenFromCookie(undefined)).toBeUndefined();
  });
});

describe.each(testModes())("console answers and cookie sessions (%s)", (mode) => {
  let t: TestApp;
  let origin: string;
  const consoleHeaders = () => ({ "x-rampart-console": "1", origin });
  beforeAll(async () => {
    await ensureConsoleBuilt();
    // No grace for concurrent refreshes: a second use of one token is a reuse at once.
    t = await createTestApp(mode, { env: { REFRESH_REUSE_GRACE_SECONDS: "0" } });
    origin = new URL(t.runtime.config.publicUrl).origin;
  });
  afterAll(() => t?.close());

  const get = (url: string) => t.app.inject({ method: "GET", url });

  it("serves the HTML at /console, /console/ and client routes with the console CSP and no-cache", async () => {
    for (const url of ["/console", "/console/", "/console/sign-in", "/console/admin/users?user=x", "/console/index.html"]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers["content-type"], url).toMatch(/^text\/html/);
      expect(res.headers["content-security-policy"], url).toBe(CSP);
      expect(res.headers["cache-control"], url).toBe("no-cache");
      expect(res.headers["x-frame-options"], url).toBe("DENY");
      expect(res.body, url).toContain('<div id="root"></div>');
      // No inline script or style: the CSP would block them.
      expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(res.body).not.toMatch(/<style|style=/);
    }
  });

  it("serves hashed assets immutable for a year, with the console CSP; an unknown asset is a 404 envelope with it too", async () => {
    const assets = readdirSync(join(ROOT, "dist/console/app/assets"));
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    for (const a of assets) {
      const res = await get(`/console/assets/${a}`);
      expect(res.statusCode, a).toBe(200);
      expect(res.headers["cache-control"], a).toBe("public, max-age=31536000, immutable");
      expect(res.headers["content-security-policy"], a).toBe(CSP);
    }
    // Revalidation: the strong ETag of each file; a match is 304 without a body.
    const js = assets.find((a) => a.endsWith(".js"))!;
    const first = await get(`/console/assets/${js}`);
    expect(first.headers["content-type"]).toMatch(/^text\/javascript/);
    expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    const again = await t.app.inject({ method: "GET", url: `/console/assets/${js}`, headers: { "if-none-match": `W/"other", ${first.headers.etag}` } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");
    const changed = await t.app.inject({ method: "GET", url: `/console/assets/${js}`, headers: { "if-none-match": '"other"' } });
    expect(changed.statusCode).toBe(200);
    // Only the built files are served: nothing outside the build, however the path is spelled.
    for (const url of ["/console/../package.json", "/console/%2e%2e/package.json", "/console/assets/..%2f..%2fpackage.json", "/console/.vite/manifest.json"]) {
      const res = await get(url);
      expect([404, 400], url).toContain(res.statusCode);
      expect(res.body, url).not.toContain('"name": "rampart"');
    }
    const missing = await get("/console/assets/nope-123.js");
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe("NOT_FOUND");
    expect(missing.headers["content-security-policy"]).toBe(CSP);
  });

  it("leaves the API's own CSP on API answers", async () => {
    const res = await get("/health/live");
    expect(res.headers["content-security-policy"]).toBe("default-src 'none';frame-ancestors 'none'");
  });

  it("leads the mailed links to the console's screens", async () => {
    const res = await get("/reset-password?token=abc");
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe("/console/reset-password?token=abc");
    expect((await get("/verify-email?token=x")).headers.location).toBe("/console/verify-email?token=x");
  });

  it("cookie mode: the refresh token is set HttpOnly, SameSite=Strict, on the refresh path only, and left out of the body", async () => {
    const creds = credentials();
    await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds });
    const login = await call(t.app, { method: "POST", url: "/v1/auth/login", body: creds, headers: consoleHeaders() });
    expect(login.statusCode).toBe(200);
    expect(login.data.refreshToken).toBeUndefined();
    expect(login.data.accessToken).toEqual(expect.any(String));
    const cookie = String(login.headers["set-cookie"]);
    expect(cookie).toMatch(/^rampart_refresh=[A-Za-z0-9_-]{40,}; Path=\/v1\/auth\/refresh; Max-Age=604800; HttpOnly; SameSite=Strict$/);
    const token = cookie.slice("rampart_refresh=".length, cookie.indexOf(";"));

    // The cookie alone, from the console: a new pair, the cookie rotated.
    const refreshed = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: {}, headers: { ...consoleHeaders(), cookie: `rampart_refresh=${token}` } });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.data.refreshToken).toBeUndefined();
    const rotated = String(refreshed.headers["set-cookie"]);
    expect(rotated).toMatch(/^rampart_refresh=[A-Za-z0-9_-]{40,}; Path=\/v1\/auth\/refresh;/);
    expect(rotated).not.toContain(token);
    const me = await call(t.app, { method: "GET", url: "/v1/me", token: refreshed.data.accessToken });
    expect(me.data.user.email).toBe(creds.email);

    // The old cookie again: reuse detection ends the session and clears the cookie.
    const reused = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: {}, headers: { ...consoleHeaders(), cookie: `rampart_refresh=${token}` } });
    expect(reused.code).toBe("REFRESH_TOKEN_REUSED");
    expect(String(reused.headers["set-cookie"])).toMatch(/^rampart_refresh=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\/v1\/auth\/refresh; Max-Age=0;/);
  });

  it("CSRF: the refresh cookie from another origin, without Origin, or without the custom header gets 403 and no token", async () => {
    const creds = credentials();
    await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds });
    const login = await call(t.app, { method: "POST", url: "/v1/auth/login", body: creds, headers: consoleHeaders() });
    const cookie = String(login.headers["set-cookie"]).split(";")[0]!;
    const attempts: Record<string, string>[] = [
      { cookie, "x-rampart-console": "1", origin: "https://evil.example" },
      { cookie, "x-rampart-console": "1", origin: "null" },
      { cookie, "x-rampart-console": "1" },
      { cookie, origin },
      { cookie },
    ];
    for (const headers of attempts) {
      const res = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: {}, headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.code).toBe("FORBIDDEN");
      expect(res.body).not.toContain("accessToken");
      expect(res.headers["set-cookie"]).toBeUndefined();
    }
    // Nothing was spent: the console's own request still works.
    const ok = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: {}, headers: { ...consoleHeaders(), cookie } });
    expect(ok.statusCode).toBe(200);
    // A login in cookie mode from another origin is refused before the password is checked.
    const foreign = await call(t.app, { method: "POST", url: "/v1/auth/login", body: creds, headers: { "x-rampart-console": "1", origin: "https://evil.example" } });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.headers["set-cookie"]).toBeUndefined();
  });

  it("logout in cookie mode ends the session and clears the cookie", async () => {
    const creds = credentials();
    await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds });
    const login = await call(t.app, { method: "POST", url: "/v1/auth/login", body: creds, headers: consoleHeaders() });
    const cookie = String(login.headers["set-cookie"]).split(";")[0]!;
    const out = await call(t.app, { method: "POST", url: "/v1/auth/logout", token: login.data.accessToken, headers: consoleHeaders() });
    expect(out.data).toEqual({ loggedOut: true });
    expect(String(out.headers["set-cookie"])).toMatch(/^rampart_refresh=; Expires=/);
    const after = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: {}, headers: { ...consoleHeaders(), cookie } });
    expect(after.statusCode).toBe(401);
  });

  it("non-console clients: tokens in the body, no cookie, a missing refresh token is still a 400", async () => {
    const creds = credentials();
    await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds });
    const login = await call(t.app, { method: "POST", url: "/v1/auth/login", body: creds });
    expect(login.data.refreshToken).toEqual(expect.any(String));
    expect(login.headers["set-cookie"]).toBeUndefined();
    const refreshed = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: login.data.refreshToken } });
    expect(refreshed.data.refreshToken).toEqual(expect.any(String));
    expect(refreshed.headers["set-cookie"]).toBeUndefined();
    const missing = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.code).toBe("VALIDATION_FAILED");
    expect(missing.json().details.fields[0].path).toBe("body.refreshToken");
  });
});
