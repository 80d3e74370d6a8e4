#!/usr/bin/env node
// Tests the example apps the way a user gets Rampart: from the packed package.
//
//   node scripts/test-examples.mjs [name ...] [--mode embedded|services|both]
//
// Default mode: embedded, plus PostgreSQL + Redis when TEST_DATABASE_URL and TEST_REDIS_URL are set.
// Builds the library, packs it (`npm pack`), copies each example under examples/ to a
// temporary directory, installs the tarball there together with the example's own
// dependencies, then runs the example's `typecheck` and `test` scripts in embedded mode
// (no DATABASE_URL / REDIS_URL: PGlite and in-process stores) and against PostgreSQL +
// Redis (TEST_DATABASE_URL / TEST_REDIS_URL, as the main suite: a fresh database and a
// fresh Redis key prefix per example). A missing service fails the run, never skips.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const modeIndex = args.indexOf("--mode");
const servicesSet = Boolean(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL);
// As the main suite: embedded always, PostgreSQL + Redis when the test services are set; CI requires them.
if (modeIndex < 0 && !servicesSet && process.env.CI === "true") fail("CI=true: TEST_DATABASE_URL and TEST_REDIS_URL must be set (the examples run against PostgreSQL + Redis too)");
const mode = modeIndex >= 0 ? args.splice(modeIndex, 2)[1] : servicesSet ? "both" : "embedded";
if (!["embedded", "services", "both"].includes(mode)) fail(`--mode must be embedded, services or both, not ${mode}`);
const available = readdirSync(join(root, "examples"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, "examples", d.name, "package.json")))
  .map((d) => d.name)
  .sort();
const names = args.length > 0 ? args : available;
for (const name of names) if (!available.includes(name)) fail(`no example '${name}'; examples: ${available.join(", ")}`);

// Variables of the caller's environment that would point an example at the wrong
// stores or change its configuration; each mode sets what it needs.
const inherited = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(DATABASE_|REDIS_|RAMPART_|TEST_|NODE_ENV$|PORT$|HOST$|LOG_|RATE_LIMIT_|WEBHOOK_|SECRET_|VITEST)/.test(key)),
);

const work = mkdtempSync(join(tmpdir(), "rampart-examples-"));
const started = Date.now();
const results = [];
try {
  run("npm", ["run", "build"], { cwd: root });
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], { cwd: root, capture: true }));
  const tarball = join(work, packed[0].filename);
  console.log(`packed ${packed[0].filename}: ${packed[0].entryCount} files, ${(packed[0].size / 1024).toFixed(0)} KiB`);

  for (const name of names) {
    const dir = join(work, name);
    cpSync(join(root, "examples", name), dir, {
      recursive: true,
      filter: (src) => !/[/\\](node_modules|package-lock\.json|\.rampart)$/.test(src),
    });
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    if (!manifest.dependencies?.rampart) fail(`examples/${name}/package.json does not depend on rampart`);
    manifest.dependencies.rampart = `file:${tarball}`;
    writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2) + "\n");

    if (!(await step(name, "install", () => run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], { cwd: dir })))) continue;
    await step(name, "typecheck", () => run("npm", ["run", "typecheck"], { cwd: dir, env: inherited }));
    if (mode !== "services") await step(name, "test (embedded)", () => run("npm", ["test"], { cwd: dir, env: { ...inherited, LOG_LEVEL: "warn" } }));
    if (mode !== "embedded") {
      await step(name, "test (PostgreSQL + Redis)", async () => {
        const { databaseUrl, redisUrl, drop } = await servicesFor(name);
        try {
          run("npm", ["test"], {
            cwd: dir,
            env: { ...inherited, LOG_LEVEL: "warn", DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_PREFIX: `example-${name}-${randomBytes(4).toString("hex")}:` },
          });
        } finally {
          await drop();
        }
      });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log("\nexamples:");
for (const r of results) console.log(`  ${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(16)} ${r.step.padEnd(26)} ${(r.ms / 1000).toFixed(1)} s`);
console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (results.some((r) => !r.ok)) process.exit(1);

/** A fresh database on the TEST_DATABASE_URL server for one example, dropped afterwards. */
async function servicesFor(name) {
  const base = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (!base || !redisUrl) throw new Error("TEST_DATABASE_URL and TEST_REDIS_URL must be set for the PostgreSQL + Redis run (or pass --mode embedded)");
  const database = `example_${name.replace(/\W/g, "_")}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${database}`;
  return {
    databaseUrl: url.toString(),
    redisUrl,
    drop: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Runs one step of one example; a failure is recorded and the next step still runs. */
async function step(name, label, fn) {
  const t = Date.now();
  try {
    await fn();
    results.push({ name, step: label, ok: true, ms: Date.now() - t });
    return true;
  } catch (err) {
    results.push({ name, step: label, ok: false, ms: Date.now() - t });
    console.error(`\n${name}: ${label} failed: ${err.message}`);
    return false;
  }
}

function run(command, commandArgs, { cwd, env = process.env, capture = false }) {
  console.log(`\n$ (${cwd === root ? "." : cwd}) ${command} ${commandArgs.join(" ")}`);
  const result = spawnSync(command, commandArgs, { cwd, env, stdio: capture ? ["ignore", "pipe", "inherit"] : "inherit", encoding: "utf8" });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(" ")} exited with ${result.status ?? result.signal}`);
  return result.stdout;
}

function fail(message) {
  console.error(message);
  process.exit(2);
}
