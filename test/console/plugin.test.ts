/**
 * The console plugin on a build directory of the test's own: only files of a
 * known kind outside dot directories are served, each with the caching its
 * place calls for (the HTML revalidated, hashed assets immutable, other files
 * an hour); without a build, every console URL answers 503 saying how to
 * build it, and the mailed links still lead to the console.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consolePlugin } from "../../src/console/plugin.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

describe("console plugin on a build of its own", () => {
  const root = mkdtempSync(join(tmpdir(), "rampart-console-"));
  let t: TestApp;
  beforeAll(async () => {
    const put = (rel: string, body: string) => {
      mkdirSync(join(root, rel, ".."), { recursive: true });
      writeFileSync(join(root, rel), body);
    };
    put("index.html", '<!doctype html><div id="root"></div>');
    put("assets/app-1a2b3c.js", "console.log(1)");
    put("favicon.ico", "ico");
    put("robots.txt", "User-agent: *");
    put(".vite/manifest.json", '{"secret":"build metadata"}');
    put("notes.md", "# not a kind the console serves");
    t = await createTestApp("embedded", { routes: { console: false }, configure: (app) => app.register(consolePlugin, { root }) });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const get = (url: string) => t.app.inject({ method: "GET", url });

  it("serves each file with the caching of its place", async () => {
    const expected: [string, string, RegExp][] = [
      ["/console/index.html", "no-cache", /^text\/html/],
      ["/console/assets/app-1a2b3c.js", "public, max-age=31536000, immutable", /^text\/javascript/],
      ["/console/favicon.ico", "public, max-age=3600", /^image\/x-icon/],
      ["/console/robots.txt", "public, max-age=3600", /^text\/plain/],
    ];
    for (const [url, cache, type] of expected) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers["cache-control"], url).toBe(cache);
      expect(res.headers["content-type"], url).toMatch(type);
    }
  });

  it("does not serve files of unknown kinds or under dot directories", async () => {
    for (const url of ["/console/notes.md", "/console/.vite/manifest.json"]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code, url).toBe("NOT_FOUND");
      expect(res.body, url).not.toContain("build metadata");
    }
  });
});

describe("console plugin without a build", () => {
  const root = mkdtempSync(join(tmpdir(), "rampart-console-empty-"));
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp("embedded", { routes: { console: false }, configure: (app) => app.register(consolePlugin, { root }) });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("answers every console URL 503 SERVICE_UNAVAILABLE saying how to build it", async () => {
    for (const url of ["/console", "/console/sign-in", "/console/assets/app.js"]) {
      const res = await t.app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(503);
      expect(res.json(), url).toMatchObject({ code: "SERVICE_UNAVAILABLE", message: "The console is not built: run `npm run build`, then restart." });
    }
  });

  it("still leads the mailed links to the console, with their query", async () => {
    const res = await t.app.inject({ method: "GET", url: "/verify-email?token=abc" });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe("/console/verify-email?token=abc");
  });
});
