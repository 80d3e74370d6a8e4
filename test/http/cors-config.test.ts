import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";

const load = (CORS_ORIGINS: string, extra: Record<string, string> = {}) => loadConfig({ CORS_ORIGINS, ...extra });

describe("CORS_ORIGINS", () => {
  it("is unset by default (no cross-origin access), credentials off, preflight cache 600 s", () => {
    const c = loadConfig({});
    expect(c.corsOrigins).toBeUndefined();
    expect(c.corsAllowCredentials).toBe(false);
    expect(c.corsMaxAgeSeconds).toBe(600);
  });

  it("normalizes origins to what browsers send: lower-case host, default port dropped, one trailing slash tolerated", () => {
    expect(load(" https://App.Example.com , http://localhost:3000,https://a.example:443,https://b.example/ ").corsOrigins).toEqual([
      "https://app.example.com",
      "http://localhost:3000",
      "https://a.example",
      "https://b.example",
    ]);
    expect(load("http://[::1]:8080").corsOrigins).toEqual(["http://[::1]:8080"]);
    expect(load("*").corsOrigins).toEqual(["*"]);
  });

  it.each([
    ["null", /CORS_ORIGINS: .*'null' is never allowed/],
    ["https://app.example.com/path", /CORS_ORIGINS: .*more than scheme, host and port/],
    ["https://app.example.com?x=1", /CORS_ORIGINS: .*more than scheme, host and port/],
    ["https://app.example.com#f", /CORS_ORIGINS: .*more than scheme, host and port/],
    ["https://user:pw@app.example.com", /CORS_ORIGINS: .*more than scheme, host and port/],
    ["app.example.com", /CORS_ORIGINS: expected a comma-separated list of origins/],
    ["ftp://app.example.com", /CORS_ORIGINS: .*only http and https origins/],
    ["https://*.example.com", /CORS_ORIGINS: expected/],
    ["*,https://app.example.com", /CORS_ORIGINS: .*\* must stand alone/],
  ])("refuses %s, naming the variable", (raw, message) => {
    expect(() => load(raw)).toThrow(message);
  });

  it("accepts `*` with credentials at load time (the app and production preflight refuse it, listing it with the rest)", () => {
    expect(load("*", { CORS_ALLOW_CREDENTIALS: "true" }).corsAllowCredentials).toBe(true);
  });

  it("bounds CORS_MAX_AGE_SECONDS, HSTS_MAX_AGE_SECONDS and RAMPART_INSTANCES", () => {
    expect(() => loadConfig({ CORS_MAX_AGE_SECONDS: "86401" })).toThrow(/CORS_MAX_AGE_SECONDS/);
    expect(() => loadConfig({ HSTS_MAX_AGE_SECONDS: "-1" })).toThrow(/HSTS_MAX_AGE_SECONDS/);
    expect(() => loadConfig({ RAMPART_INSTANCES: "0" })).toThrow(/RAMPART_INSTANCES/);
    expect(loadConfig({}).instances).toBe(1);
    expect(loadConfig({}).hstsMaxAgeSeconds).toBe(31_536_000);
  });
});
