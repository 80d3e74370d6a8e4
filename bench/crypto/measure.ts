/**
 * Shared helpers for the crypto benchmarks: a time-boxed ops/s measurement
 * (warm-up, then the best of several rounds to damp noise on a shared core), a
 * throw-away embedded keyring, and the JSON + markdown output the bench harness
 * collects into docs/performance.md.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";
import pino from "pino";
import { loadConfig } from "../../src/config/index.js";
import { openDatabase, migrateToLatest } from "../../src/db/index.js";
import { createKeyring, type Keyring } from "../../src/crypto/index.js";
import type { Secrets } from "../../src/secrets/types.js";

export interface Measurement {
  name: string;
  opsPerSec: number;
}

async function timed(fn: () => unknown, ms: number): Promise<number> {
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 16; i++) await fn();
    n += 16;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

/**
 * Ops per second of each case (sync or async, one call at a time). The cases
 * are interleaved in short slices and each keeps its best slice, so a burst of
 * load from another process hits every case alike and ratios stay fair.
 */
export async function measureAll(cases: { name: string; fn: () => unknown }[], { ms = 1000, slices = 8 } = {}): Promise<Measurement[]> {
  for (const c of cases) await timed(c.fn, Math.min(200, ms / 4));
  const best = cases.map(() => 0);
  for (let s = 0; s < slices; s++) {
    for (const [i, c] of cases.entries()) best[i] = Math.max(best[i]!, await timed(c.fn, ms / slices));
  }
  return cases.map((c, i) => ({ name: c.name, opsPerSec: best[i]! }));
}

const staticSecrets = (values: Record<string, string>): Secrets => ({
  get: async (n) => {
    const v = values[n];
    if (v === undefined) throw new Error(`no secret ${n}`);
    return v;
  },
  getOptional: async (n) => values[n],
  onRotate: () => () => undefined,
});

/** A keyring on a temporary embedded database with a random local master key. */
export async function benchKeyring(): Promise<{ keyring: Keyring; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-bench-"));
  const config = loadConfig({ NODE_ENV: "test", RAMPART_DATA_DIR: dataDir, LOG_LEVEL: "silent" });
  const db = await openDatabase(config);
  await migrateToLatest(db.kysely);
  const secrets = staticSecrets({ "master-key": randomBytes(32).toString("base64"), "blind-index-key": randomBytes(32).toString("base64") });
  const keyring = await createKeyring({ config, db: db.kysely, secrets, log: pino({ level: "silent" }) });
  return {
    keyring,
    async close() {
      await keyring.close();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2);
}

/** Prints one JSON summary line (machine-readable) and returns the markdown section (table) for docs/performance.md. */
export function report(bench: string, summary: Record<string, unknown>, title: string, intro: string, header: string[], rows: (string | number)[][]): string {
  console.log(JSON.stringify({ bench, node: process.version, ...summary }));
  return [`### ${title}`, "", intro, "", `| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`), ""].join("\n");
}

/** True when this module is the entry point (`npx tsx bench/crypto/x.bench.ts`), not imported by bench/run.ts. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === url;
}
