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
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
