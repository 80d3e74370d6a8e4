#!/usr/bin/env node
/**
 * Summarises a StrykerJS JSON report (mutation-testing-report-schema) as
 * Markdown: one row per mutated module with its mutation score, then the
 * surviving mutants (file:line, mutator, replacement). Exits 1 when a module
 * scores below the minimum, so `npm run mutation && node scripts/mutation-report.mjs`
 * fails on a regression.
 *
 * Score = (killed + timeout) / (killed + timeout + survived + no coverage), as
 * Stryker computes it: ignored mutants (static ones, see stryker.config.mjs)
 * and mutants that did not compile or crashed the runner are not counted.
 *
 * Usage: node scripts/mutation-report.mjs [report.json ...] [--min 80]
 */
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";

const args = process.argv.slice(2);
const minIndex = args.indexOf("--min");
const min = minIndex >= 0 ? Number(args[minIndex + 1]) : 80;
if (!Number.isFinite(min) || min < 0 || min > 100) {
  console.error(`--min must be a percentage from 0 to 100, instead got '${args[minIndex + 1]}'`);
  process.exit(2);
}
const positional = args.filter((_, i) => minIndex < 0 || (i !== minIndex && i !== minIndex + 1));
const reportPaths = positional.length > 0 ? positional : ["reports/mutation/mutation.json"];

// Several reports (runs over different modules, e.g. `--mutate` subsets) are merged; a module
// in more than one takes its result from the last.
const files = {};
for (const reportPath of reportPaths) {
  let report;
  try {
    report = JSON.parse(readFileSync(reportPath, "utf8"));
  } catch (err) {
    console.error(`cannot read the mutation report ${reportPath}: ${err.message}. Run \`npm run mutation\` first.`);
    process.exit(2);
  }
  if (typeof report !== "object" || report === null || typeof report.files !== "object") {
    console.error(`${reportPath} is not a mutation-testing-report-schema report (no "files")`);
    process.exit(2);
  }
  for (const [file, result] of Object.entries(report.files)) files[relative(process.cwd(), resolve(file)) || file] = result;
}

const COUNTED = new Set(["Killed", "Timeout", "Survived", "NoCoverage"]);
const pct = (n) => `${n.toFixed(2)} %`;
// One line of a Markdown table cell: pipes escaped, whitespace collapsed, long replacements cut.
const cell = (s) => {
  const one = String(s).replace(/\s+/g, " ").replace(/\|/g, "\\|").trim();
  return one.length > 80 ? `${one.slice(0, 77)}...` : one;
};

const rows = [];
const survivors = [];
for (const [name, result] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
  const count = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, Other: 0 };
  for (const m of result.mutants) {
    if (m.status in count) count[m.status] += 1;
    else count.Other += 1;
    if (m.status === "Survived" || m.status === "NoCoverage") {
      survivors.push({ file: name, line: m.location.start.line, column: m.location.start.column, status: m.status, mutator: m.mutatorName, replacement: m.replacement ?? "", static: m.static === true });
    }
  }
  const valid = [...COUNTED].reduce((n, s) => n + count[s], 0);
  const detected = count.Killed + count.Timeout;
  rows.push({ name, score: valid === 0 ? 100 : (detected / valid) * 100, valid, ...count });
}

const total = rows.reduce(
  (t, r) => ({ valid: t.valid + r.valid, Killed: t.Killed + r.Killed, Timeout: t.Timeout + r.Timeout, Survived: t.Survived + r.Survived, NoCoverage: t.NoCoverage + r.NoCoverage, Ignored: t.Ignored + r.Ignored }),
  { valid: 0, Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0 },
);

const out = [];
out.push("| Module | Score | Killed | Survived | Timeout | No coverage | Ignored (static) |");
out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) out.push(`| \`${r.name}\` | ${pct(r.score)} | ${r.Killed} | ${r.Survived} | ${r.Timeout} | ${r.NoCoverage} | ${r.Ignored} |`);
const totalScore = total.valid === 0 ? 100 : ((total.Killed + total.Timeout) / total.valid) * 100;
out.push(`| **All** | **${pct(totalScore)}** | ${total.Killed} | ${total.Survived} | ${total.Timeout} | ${total.NoCoverage} | ${total.Ignored} |`);
out.push("");
out.push(`Surviving mutants (${survivors.length}):`);
out.push("");
if (survivors.length === 0) out.push("None.");
else {
  // Static: the mutated code also runs while modules load or in a beforeAll hook (see stryker.config.mjs).
  out.push("| Location | Status | Static | Mutator | Replacement |");
  out.push("| --- | --- | --- | --- | --- |");
  for (const s of survivors) out.push(`| \`${s.file}:${s.line}:${s.column}\` | ${s.status} | ${s.static ? "yes" : ""} | ${s.mutator} | \`${cell(s.replacement)}\` |`);
}
console.log(out.join("\n"));

const below = rows.filter((r) => r.score < min);
if (below.length > 0) {
  console.error(`\n${below.length} module(s) below ${min} %: ${below.map((r) => `${r.name} (${pct(r.score)})`).join(", ")}`);
  process.exit(1);
}
