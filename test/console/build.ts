/**
 * Builds the web console (console/ to dist/console/app, as `npm run build`
 * does) when it is missing or older than its sources, once across the test
 * workers: the first takes a lock directory, the others wait for it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/process.js";

const MARKER = join(ROOT, "dist/console/app/index.html");
const LOCK = join(ROOT, "dist/console/.test-build-lock");

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const stale = () => !existsSync(MARKER) || newest(join(ROOT, "console")) > statSync(MARKER).mtimeMs;

export async function ensureConsoleBuilt(): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (stale()) {
    mkdirSync(join(ROOT, "dist/console"), { recursive: true });
    try {
      mkdirSync(LOCK);
    } catch {
      // Another worker is building (a lock left by a killed run expires).
      const lock = statSync(LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error("timed out waiting for another worker's console build");
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (stale()) execFileSync(process.execPath, [join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--config", "console/vite.config.ts"], { cwd: ROOT, stdio: "pipe" });
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}
