import { defineConfig } from "vitest/config";

// Files named *.services.test.ts need the real PostgreSQL and Redis; they are
// collected whenever the services are configured (always in CI, where
// test/global-setup.ts fails the run if they are missing).
const withServices = Boolean(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL);

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: withServices ? ["**/node_modules/**"] : ["**/node_modules/**", "test/**/*.services.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    pool: "forks",
    // Test files share each worker's module cache instead of a fresh process each: the fork and
    // the import of the whole of src/ cost about 3 s of CPU per file. No state crosses files
    // through it: every test has its own stores (createTestEnv), and src/ keeps no module-level
    // state but caches of pure values.
    isolate: false,
    // Vitest's default is one worker fewer than the cores: one on this kind of 2-core machine. Tests
    // wait on I/O and timers much of the time, so two workers finish the suite sooner (each test has
    // its own database and key prefix, so they never see each other's state).
    maxWorkers: 2,
    minWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // `--coverage` (the README's test command): V8 coverage of src/ in the test workers, written
    // as Istanbul JSON; scripts/coverage.mjs adds the child processes' coverage and enforces the
    // thresholds on the sum, so no threshold is set here. AST-aware remapping places statements
    // and branches by the TypeScript source, as the children's conversion does, so the two add up.
    coverage: {
      provider: "v8",
      // The report is written even when a test failed: the run fails either way, and the gaps are still worth reading.
      reportOnFailure: true,
      experimentalAstAwareRemapping: true,
      include: ["src/**/*.ts"],
      reporter: [["json", { file: "coverage-final.json" }]],
      reportsDirectory: "coverage/workers",
    },
  },
});
