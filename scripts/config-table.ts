/**
 * Prints the README's configuration table from src/config/spec.ts
 * (`npx tsx scripts/config-table.ts`); test/config/readme.test.ts fails when the
 * README's table and the spec disagree.
 */
import { configTableRows } from "../src/config/table.js";

process.stdout.write(`${configTableRows().join("\n")}\n`);
