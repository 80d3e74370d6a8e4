// @ts-check
/**
 * Mutation testing of the security cores with StrykerJS (`npm run mutation`).
 * Not part of CI: docs/quality.md records the last run and the surviving
 * mutants judged equivalent. scripts/mutation-report.mjs turns the JSON report
 * into the per-module table and fails below 80 % for any module.
 *
 * @type {import("@stryker-mutator/api/core").PartialStrykerOptions}
 */
export default {
  packageManager: "npm",
  testRunner: "vitest",
  // Its own Vitest config: only the test files that exercise these modules, embedded mode only.
  vitest: { configFile: "vitest.mutation.config.ts" },
  // TypeScript is type-checked by `npm run lint`; no checker plugin here, so a mutant that would
  // not compile is run anyway (and usually killed by the first test that touches it).
  // Per-test coverage: each mutant is run only against the tests that executed it in the dry run.
  coverageAnalysis: "perTest",
  // A static mutant runs only while modules load or in a beforeAll hook (a module constant, a
  // parser called while the config loads): testing one means reloading every test file and running
  // them all, about a minute each here, for several hundred mutants. They are left out of the run
  // (reported as "ignored", counted per module by the report script); a mutant also executed by a
  // test is still run against that test.
  ignoreStatic: true,
  mutate: [
    // Token signing and verification, the verified-token cache and the revocation list.
    "src/auth/tokens/issuer.ts",
    "src/auth/tokens/verifier.ts",
    "src/auth/tokens/token-cache.ts",
    "src/auth/revocation/revocation-list.ts",
    // Refresh rotation and reuse detection.
    "src/auth/sessions.ts",
    "src/auth/lockout.ts",
    "src/auth/totp/totp.ts",
    "src/auth/totp/backup-codes.ts",
    "src/auth/api-keys/encoding.ts",
    "src/auth/api-keys/scopes.ts",
    // The `rp1` message format, frames and message keys.
    "src/crypto/format.ts",
    "src/crypto/message.ts",
    "src/crypto/frames.ts",
    "src/crypto/message-keys.ts",
    "src/crypto/blind-index.ts",
    // Webhook signature verification: the shared HMAC and timestamp checks, then each provider.
    "src/webhooks/verification.ts",
    "src/webhooks/github.ts",
    "src/webhooks/stripe.ts",
    "src/webhooks/standard.ts",
    "src/ratelimit/token-bucket.ts",
    "src/audit/chain.ts",
    "src/config/parsers.ts",
  ],
  // Only mutants whose source or covering tests changed since the last run are run again; the
  // others keep their result. `--force` (npx stryker run --force) runs every mutant.
  incremental: true,
  incrementalFile: "reports/mutation/stryker-incremental.json",
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  // One test process: the machine's two cores are shared with other work.
  concurrency: 1,
  // A mutant may turn a loop or a retry endless: it times out after the dry-run time of its
  // tests times timeoutFactor plus timeoutMS (room for PGlite start-up and GC pauses).
  timeoutMS: 10_000,
  timeoutFactor: 2,
  // The per-module minimum is checked by scripts/mutation-report.mjs; this colours the report only.
  thresholds: { high: 90, low: 80, break: null },
  // Not copied to Stryker's sandbox: build output, other tools' scratch files (written and removed
  // while a run copies the tree) and folders no test of these modules reads.
  // A leading "/" anchors a pattern at the root ("console" alone would also drop src/console).
  ignorePatterns: ["/dist", "/coverage", "/.coverage-children", "/.rampart", "/.bench-tmp", "*.log", "/docs/images", "/console", "/deploy", "/bench", "/examples"],
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
};
