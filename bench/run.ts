/**
 * `npm run bench`: runs every benchmark (bench/*.bench.ts and
 * bench/<area>/*.bench.ts, each exporting `run(): Promise<string>` that returns
 * a markdown section) and writes docs/performance.md, keeping its hand-written
 * blocks (<!-- keep --> ... <!-- /keep -->). `npm run bench -- NAME`
 * runs only the benchmarks whose path contains NAME (and prints, not writes).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./lib/http.js";

function findBenches(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (e !== "lib") out.push(...findBenches(p));
    } else if (e.endsWith(".bench.ts")) out.push(p);
  }
  return out.sort();
}

const filter = process.argv[2];
const files = findBenches(join(ROOT, "bench")).filter((f) => !filter || f.includes(filter));
const sections: string[] = [];
for (const file of files) {
  const rel = relative(ROOT, file);
  process.stderr.write(`bench: ${rel}\n`);
  const mod = (await import(pathToFileURL(file).href)) as { run: () => Promise<string> };
  const section = await mod.run();
  process.stdout.write(`${section}\n`);
  sections.push(`<!-- ${rel} -->\n${section}`);
}

if (!filter) {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const out = join(ROOT, "docs/performance.md");
  // Hand-written blocks (between <!-- keep --> and <!-- /keep -->) survive a regeneration: the first one
  // stays above the generated sections, the others below them. Their numbers are the author's to update.
  const kept = existsSync(out) ? [...readFileSync(out, "utf8").matchAll(/<!-- keep -->[\s\S]*?<!-- \/keep -->/g)].map((m) => m[0]) : [];
  const doc = [
    "# Performance",
    "",
    "Every number here is a ratio against a baseline measured in the same run on the same machine, never an absolute",
    "claim. Regenerate with:",
    "",
    "```sh",
    "BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test BENCH_REDIS_URL=redis://127.0.0.1:6379 npm run bench",
    "```",
    "",
    `Last run: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB.`,
    "",
    ...kept.slice(0, 1).flatMap((k) => [k, ""]),
    ...sections,
    ...kept.slice(1).flatMap((k) => ["", k]),
  ].join("\n");
  writeFileSync(out, `${doc}\n`);
  process.stderr.write("bench: wrote docs/performance.md\n");
}
