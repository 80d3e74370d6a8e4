/**
 * Layers point down: the framework-free subpaths of the package (crypto,
 * secrets, kv, the rate limiter's core, ...) never load Fastify or any
 * module of the Fastify layer, so an app that takes one capability does not
 * pay for, or depend on, the HTTP glue. Each subpath is imported alone in a
 * fresh Node process with a resolve hook that records every module it loads
 * (fixtures/record-loads.mjs), exactly as a consumer's import would.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: Record<string, { default: string }> };

/** Subpaths whose modules are framework-free cores (docs call them by these names). */
const CORE = [
  "./audit",
  "./config",
  "./context",
  "./crypto",
  "./db",
  "./errors",
  "./events",
  "./health",
  "./http",
  "./idempotency",
  "./jobs",
  "./kv",
  "./log",
  "./mail",
  "./metrics",
  "./ratelimit",
  "./resilience",
  "./runtime",
  "./secrets",
];
/** Subpaths that are the Fastify layer: the root entry, the server, route groups and the plugins of the cores. */
const FASTIFY_LAYER = [".", "./auth", "./files", "./gdpr", "./quotas", "./server", "./webhooks", ...Object.keys(pkg.exports).filter((k) => k.endsWith("/plugin"))];

/** A module a core must not load: Fastify, its plugins, or a file of Rampart's Fastify layer. */
function forbidden(url: string): boolean {
  if (/\/node_modules\/(fastify|fastify-plugin|@fastify\/[^/]+)\//.test(url)) return true;
  const src = url.match(/\/src\/(.+\.ts)$/)?.[1];
  return src !== undefined && (/(^|\/)(plugin|routes)\.ts$/.test(src) || src.startsWith("server/") || src.includes("/routes/"));
}

const logs = mkdtempSync(join(tmpdir(), "rampart-layers-"));
afterAll(() => rmSync(logs, { recursive: true, force: true }));

/** The source entry of an export subpath (`./dist/x/index.js` → `src/x/index.ts`). */
function sourceEntry(subpath: string): string {
  return pkg.exports[subpath]!.default.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts");
}

/** Imports a subpath's entry alone in a fresh process; resolves with every module URL it loaded. */
function loadsOf(subpath: string): Promise<string[]> {
  const log = join(logs, `${subpath.replace(/[^a-z]/g, "_")}.log`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--import", "./test/architecture/fixtures/record-loads.mjs", sourceEntry(subpath)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", RAMPART_LOAD_LOG: log },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`importing ${subpath} exited with ${code}: ${stderr}`));
      resolve([...new Set(readFileSync(log, "utf8").trim().split("\n"))]);
    });
  });
}

describe("package layers", () => {
  it("every export subpath is classified as core or Fastify layer", () => {
    expect([...CORE, ...FASTIFY_LAYER].sort()).toEqual(Object.keys(pkg.exports).sort());
  });

  it("no core subpath loads Fastify or a plugin, route or server module", async () => {
    const offenders: Record<string, string[]> = {};
    // A few processes at a time: each one compiles its modules with tsx.
    const loaded: (readonly [string, string[]])[] = [];
    const queue = [...CORE];
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        for (let subpath = queue.shift(); subpath !== undefined; subpath = queue.shift()) loaded.push([subpath, await loadsOf(subpath)]);
      }),
    );
    for (const [subpath, urls] of loaded) {
      expect(urls.some((u) => u.endsWith(sourceEntry(subpath))), `${subpath} was loaded`).toBe(true);
      const bad = urls.filter(forbidden).map((u) => u.replace(/^file:\/\/.*?\/(node_modules|src)\//, "$1/"));
      if (bad.length > 0) offenders[subpath] = bad;
    }
    expect(offenders).toEqual({});
  }, 300_000);

  it("the recorder sees Fastify where a plugin subpath loads it", async () => {
    const urls = await loadsOf("./ratelimit/plugin");
    expect(urls.filter(forbidden).some((u) => u.includes("/node_modules/fastify-plugin/"))).toBe(true);
    expect(urls.some((u) => u.endsWith("src/ratelimit/plugin.ts"))).toBe(true);
  });
});
