// Rewrites the README's configuration table from src/config/spec.ts (run with tsx:
// `npx tsx scripts/update-readme-config.mjs`); test/config/readme.test.ts checks it.
import { readFileSync, writeFileSync } from "node:fs";
import { configTableRows } from "../src/config/table.ts";

const readme = readFileSync("README.md", "utf8");
const table = `${configTableRows().join("\n")}\n`;
const next = readme.replace(/(<!-- config-table:start -->\n)[\s\S]*?(<!-- config-table:end -->)/, (_, a, b) => a + table + b);
writeFileSync("README.md", next);
