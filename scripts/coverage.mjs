#!/usr/bin/env node
// The coverage gate of `npm test`: the sum of what the test workers and the
// child processes they started ran of src/, checked against the thresholds.
//
//   node scripts/coverage.mjs [--dir DIR] [--files PREFIX]
//
// --dir: where a run left its coverage (default: coverage/ and .coverage-children,
// where `npm test` leaves it; a run of a few files elsewhere sets
// RAMPART_COVERAGE_DIR=DIR and --coverage.reportsDirectory=DIR/workers).
// --files: also print lines and branches of each file under PREFIX.
//
// `vitest run --coverage` writes the workers' coverage (coverage/workers,
// Istanbul JSON). Children — the CLI, `rampart serve` instances and their
// cluster workers, fixtures — run with test/helpers/child-coverage.mjs
// preloaded, which leaves in .coverage-children the V8 coverage of each src/
// module with the exact code that ran (tsx's). Both sides are converted the
// same way, by ast-v8-to-istanbul through the code's source map, so a
// statement, branch or function is placed in the TypeScript source in either
// map, and the child's counts are added there (addCounts).
//
// Writes coverage/coverage-final.json, coverage/coverage-summary.json and an
// HTML report in coverage/html; exits 1 when a floor is not met, naming the
// files below the per-file floor.
import { Buffer } from "node:buffer";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import convert from "ast-v8-to-istanbul";
import libCoverage from "istanbul-lib-coverage";
import libReport from "istanbul-lib-report";
import reports from "istanbul-reports";
import { parseAstAsync } from "vite";

/** The floors: overall lines and branches, and lines of every file. */
export const THRESHOLDS = { lines: 95, branches: 90, fileLines: 85 };

const root = resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({ options: { dir: { type: "string" }, files: { type: "string" } } });
const outDir = args.dir ? resolve(args.dir) : join(root, "coverage");
const workersFile = join(outDir, "workers", "coverage-final.json");
const childrenDir = args.dir ? join(outDir, "children") : join(root, ".coverage-children");

if (!existsSync(workersFile)) fail(`${relative(root, workersFile)} is missing: run \`vitest run --coverage\` first`);
const map = libCoverage.createCoverageMap(JSON.parse(readFileSync(workersFile, "utf8")));
const measured = new Set(map.files());

/** How many of the children's items found their place in the workers' map (COVERAGE_DEBUG=1 prints it). */
const placed = { hit: 0, miss: 0, misses: [] };
const childFiles = existsSync(childrenDir) ? readdirSync(childrenDir).filter((f) => f.endsWith(".json")) : [];
// The same module is in many children with the same code: parse it once.
const asts = new Map();
for (const name of childFiles) {
  for (const script of JSON.parse(readFileSync(join(childrenDir, name), "utf8"))) {
    const file = fileURLToPath(script.url);
    if (!measured.has(file)) continue; // vitest's `include` decides what is measured
    if (!asts.has(script.source)) asts.set(script.source, parseAstAsync(script.source));
    const data = await convert({
      code: script.source,
      sourceMap: inlineSourceMap(script.source, file),
      ast: asts.get(script.source),
      coverage: { url: script.url, functions: script.functions.map(exclusiveEnds) },
    });
    for (const [path, child] of Object.entries(data)) addCounts(map.fileCoverageFor(path), child);
  }
}
if (process.env.COVERAGE_DEBUG) console.log(`child items placed: ${placed.hit}, without a counterpart: ${placed.miss}`, placed.misses.slice(0, 10));

const context = libReport.createContext({ dir: outDir, coverageMap: map, defaultSummarizer: "nested" });
reports.create("json", { file: "coverage-final.json" }).execute(context);
reports.create("json-summary", { file: "coverage-summary.json" }).execute(context);
reports.create("html", { subdir: "html", skipEmpty: true }).execute(context);

const total = map.getCoverageSummary();
const below = [];
for (const file of map.files().sort()) {
  const lines = map.fileCoverageFor(file).toSummary().lines;
  if (lines.total > 0 && lines.pct < THRESHOLDS.fileLines) below.push(`  ${lines.pct.toFixed(1).padStart(5)} %  ${relative(root, file)} (${lines.total - lines.covered} of ${lines.total} lines not run)`);
}
if (args.files) {
  for (const file of map.files().sort()) {
    if (!relative(root, file).startsWith(args.files)) continue;
    const { lines, branches } = map.fileCoverageFor(file).toSummary();
    console.log(`${lines.pct.toFixed(1).padStart(6)} % lines ${branches.pct.toFixed(1).padStart(6)} % branches  ${relative(root, file)}`);
  }
}
const pct = (m) => `${m.pct.toFixed(2)} % (${m.covered}/${m.total})`;
console.log(`\ncoverage of src/ (${map.files().length} files; test workers + ${childFiles.length} child processes)`);
console.log(`  lines      ${pct(total.lines)}   floor ${THRESHOLDS.lines} %`);
console.log(`  branches   ${pct(total.branches)}   floor ${THRESHOLDS.branches} %`);
console.log(`  functions  ${pct(total.functions)}`);
console.log(`  statements ${pct(total.statements)}`);
console.log(`  report: ${relative(root, join(outDir, "html", "index.html"))}`);

const failures = [];
if (total.lines.pct < THRESHOLDS.lines) failures.push(`lines ${total.lines.pct.toFixed(2)} % < ${THRESHOLDS.lines} %`);
if (total.branches.pct < THRESHOLDS.branches) failures.push(`branches ${total.branches.pct.toFixed(2)} % < ${THRESHOLDS.branches} %`);
if (below.length > 0) failures.push(`${below.length} file(s) below ${THRESHOLDS.fileLines} % of lines:\n${below.join("\n")}`);
// The floors are set on the run in both modes: lines only PostgreSQL or Redis reach count as run
// only there. CI always runs both (test/global-setup.ts fails the run without the services).
const bothModes = Boolean(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL);
if (failures.length > 0 && !bothModes) {
  console.log(`coverage: not checked against the floors — they apply to the run in both modes (TEST_DATABASE_URL and TEST_REDIS_URL set, as in CI), and this one was embedded only:\n  ${failures.join("\n  ")}`);
  process.exit(0);
}
if (failures.length > 0) fail(`coverage below the floor: ${failures.join("; ")}`);
console.log("coverage: every floor met");

/**
 * Adds a child's counts to the workers' map of the same file. The two were
 * compiled apart (Vite's esbuild run, and tsx's, which minifies whitespace),
 * and the source maps of the two place a node on the same line but not always
 * at the same column (an arrow function starts at its parameter or its
 * parenthesis). Each child item goes to the workers' item of its kind that
 * starts on the same line at the nearest column; the workers' map stays the
 * measure of what there is to run.
 */
function addCounts(into, child) {
  const add = (kind, intoMap, intoCounts, childMap, childCounts, locsOf) => {
    const byLine = new Map();
    for (const [id, item] of Object.entries(intoMap)) {
      locsOf(item).forEach((loc, i) => {
        if (!loc?.start) return;
        const line = byLine.get(loc.start.line) ?? [];
        line.push({ column: loc.start.column, id, i });
        byLine.set(loc.start.line, line);
      });
    }
    for (const [id, item] of Object.entries(childMap)) {
      locsOf(item).forEach((loc, i) => {
        if (!loc?.start) return;
        const count = Array.isArray(childCounts[id]) ? childCounts[id][i] : childCounts[id];
        const candidates = byLine.get(loc.start.line);
        if (!candidates) {
          placed.miss++;
          if (count > 0) placed.misses.push(`${kind} ${relative(root, into.path)}:${loc.start.line}:${loc.start.column}`);
          return;
        }
        placed.hit++;
        const target = candidates.reduce((best, c) => (Math.abs(c.column - loc.start.column) < Math.abs(best.column - loc.start.column) ? c : best));
        if (Array.isArray(intoCounts[target.id])) intoCounts[target.id][target.i] += count;
        else intoCounts[target.id] += count;
      });
    }
  };
  add("statement", into.data.statementMap, into.data.s, child.statementMap, child.s, (loc) => [loc]);
  add("function", into.data.fnMap, into.data.f, child.fnMap, child.f, (fn) => [fn.decl]);
  addBranches(into, child);
}

/**
 * A branch (an `if`, `?:`, `&&`...) is placed as a whole, by where it starts, and its arms are
 * added one by one: the implicit `else` of an `if` has no location of its own to place it by.
 */
function addBranches(into, child) {
  const byLine = new Map();
  for (const [id, branch] of Object.entries(into.data.branchMap)) {
    const line = byLine.get(branch.loc.start.line) ?? [];
    line.push({ id, branch });
    byLine.set(branch.loc.start.line, line);
  }
  for (const [id, branch] of Object.entries(child.branchMap)) {
    const candidates = (byLine.get(branch.loc.start.line) ?? []).filter((c) => c.branch.type === branch.type && c.branch.locations.length === branch.locations.length);
    if (candidates.length === 0) {
      placed.miss++;
      if (child.b[id].some((n) => n > 0)) placed.misses.push(`branch ${relative(root, into.path)}:${branch.loc.start.line}:${branch.loc.start.column}`);
      continue;
    }
    placed.hit++;
    const distance = (c) => Math.abs(c.branch.loc.start.column - branch.loc.start.column);
    const target = candidates.reduce((best, c) => (distance(c) < distance(best) ? c : best));
    child.b[id].forEach((n, i) => (into.data.b[target.id][i] += n));
  }
}

/**
 * V8 ends a range before its endOffset; ast-v8-to-istanbul 0.3 counts the character at
 * endOffset in the range too. In Vite's code a newline follows a block, so that character is
 * nothing; tsx's code is whitespace-minified, and it is the first character of the next
 * statement (`...}if(`), which a block that never ran would mark as never run.
 */
function exclusiveEnds(fn) {
  return { ...fn, ranges: fn.ranges.map((r) => ({ ...r, endOffset: Math.max(r.startOffset, r.endOffset - 1) })) };
}

/** tsx appends its source map to the code it hands to Node, as a base64 data URL. */
function inlineSourceMap(code, file) {
  const m = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  if (!m) fail(`${relative(root, file)}: the child's code has no inline source map`);
  const sourceMap = JSON.parse(Buffer.from(m[1], "base64").toString("utf8"));
  // tsx names the source by URL; Istanbul keys files by path, as vitest's map does.
  return { ...sourceMap, sources: sourceMap.sources.map((s) => (s.startsWith("file:") ? fileURLToPath(s) : resolve(root, s))) };
}

function fail(message) {
  console.error(`\n${message}`);
  process.exit(1);
}
