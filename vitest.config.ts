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
    // Vitest's default is one worker fewer than the cores: one on this kind of 2-core machine. Tests
    // wait on I/O and timers much of the time, so two workers finish the suite sooner (each test has
    // its own database and key prefix, so they never see each other's state).
    maxWorkers: 2,
    minWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
