/** Spawning Rampart processes (the CLI or a fixture) under tsx, as a user would run them. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stdout line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/**
 * The directory where child processes write their coverage while the suite
 * runs with coverage (test/global-setup.ts sets it; scripts/coverage.mjs adds
 * the files to the report). childCoverageEnv() is spread into the environment
 * of every child that runs Rampart's code, so the CLI and served processes are
 * measured: NODE_OPTIONS preloads child-coverage.mjs, in the child and in any
 * process it starts in turn (a cluster's workers).
 */
export const CHILD_COVERAGE_ENV = "RAMPART_CHILD_COVERAGE_DIR";
const CHILD_COVERAGE_PRELOAD = fileURLToPath(new URL("./child-coverage.mjs", import.meta.url));
export function childCoverageEnv(): Record<string, string> {
  const dir = process.env[CHILD_COVERAGE_ENV];
  return dir ? { [CHILD_COVERAGE_ENV]: dir, NODE_OPTIONS: `--import ${CHILD_COVERAGE_PRELOAD}` } : {};
}

export function spawnTs(script: string, args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...childCoverageEnv(), ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = out.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitFor(re, timeoutMs = 30_000) {
      const m = out.match(re);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; stdout: ${out}; stderr: ${err}`)), timeoutMs);
        waiters.push({ re, resolve: (mm) => (clearTimeout(timer), resolve(mm)) });
        void exit.then(({ code }) => {
          clearTimeout(timer);
          reject(new Error(`process exited (${code}) before ${re}; stdout: ${out}; stderr: ${err}`));
        });
      });
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnTs("src/cli/main.ts", args, env);
  if (stdin !== undefined) p.child.stdin!.end(stdin);
  else p.child.stdin!.end();
  const { code } = await p.exit;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
