// Runs before `npm start`: compiles src/ to dist/ when dist/ is missing or older
// than any source file, and builds the web console (console/ to dist/console/app)
// when it is missing or older than its sources, so a fresh clone starts with
// `npm install && npm start`.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const marker = "dist/cli/main.js";
const stale = !existsSync(marker) || newest("src") > statSync(marker).mtimeMs;
if (stale) {
  process.stderr.write("rampart: building (tsc)...\n");
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
}

const consoleMarker = "dist/console/app/index.html";
if (!existsSync(consoleMarker) || newest("console") > statSync(consoleMarker).mtimeMs) {
  process.stderr.write("rampart: building the console (vite)...\n");
  execFileSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "--config", "console/vite.config.ts"], { stdio: "inherit" });
}
