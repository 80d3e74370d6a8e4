// Rewrites docs/api.md from the route schemas, through the OpenAPI document of the app with
// every route group on (run with tsx: `npx tsx scripts/update-api-docs.mjs`);
// test/docs/api-docs.test.ts checks it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiDocs } from "./api-docs.ts";

// A fresh embedded database: the page must not depend on the state of ./.rampart.
const dataDir = mkdtempSync(join(tmpdir(), "rampart-api-docs-"));
try {
  writeFileSync("docs/api.md", await apiDocs(dataDir));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
