/**
 * The Vitest configuration Stryker runs (stryker.config.mjs): the settings of
 * vitest.config.ts, but only the test files that exercise the mutated modules,
 * in embedded mode (PGlite, in-memory kv) so that a mutation run needs no
 * PostgreSQL or Redis. Every file listed here is run again for each mutant it
 * covers: keep the list to the tests of those modules.
 */
import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

// Embedded mode whatever the shell exports (test/helpers/modes.ts reads these).
delete process.env.TEST_DATABASE_URL;
delete process.env.TEST_REDIS_URL;

// MUTATION_TESTS=a.test.ts,b.test.ts narrows the list while iterating on one module
// (with `npx stryker run --mutate src/...`); unset, every file below is included.
const only = process.env.MUTATION_TESTS?.split(",").map((f) => f.trim()).filter((f) => f !== "");

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // Replaces the base include (mergeConfig would concatenate the two lists).
    include: only ?? [
      // issuer.ts, verifier.ts, token-cache.ts
      "test/auth/tokens/access-tokens.test.ts",
      "test/auth/tokens/verifier.security.test.ts",
      "test/auth/tokens/verifier.test.ts",
      // revocation-list.ts, on the in-memory kv store and a manual clock (its tests through a
      // runtime, test/auth/revocation/*.test.ts, cost seconds per mutant)
      "test/auth/revocation/revocation-list.test.ts",
      // sessions.ts (refresh rotation, reuse detection) over one migrated database; lockout.ts
      "test/auth/sessions.test.ts",
      "test/auth/lockout.security.test.ts",
      // totp.ts, backup-codes.ts
      "test/auth/totp/totp.test.ts",
      "test/auth/totp/backup-codes.test.ts",
      "test/auth/totp/backup-codes.security.test.ts",
      // api-keys/encoding.ts, api-keys/scopes.ts
      "test/auth/api-keys/api-key.test.ts",
      "test/auth/api-keys/api-key.security.test.ts",
      "test/auth/api-keys/scopes.test.ts",
      // format.ts, message.ts, frames.ts, message-keys.ts: the module-level tests, which start no
      // runtime (the ones through the keyring start one per file, seconds per mutant)
      "test/crypto/rp1.test.ts",
      "test/crypto/format.coverage.test.ts",
      // blind-index.ts
      "test/crypto/blind-index.test.ts",
      // webhooks: verification.ts and each provider
      "test/webhooks/verification.test.ts",
      "test/webhooks/github.security.test.ts",
      "test/webhooks/stripe.security.test.ts",
      "test/webhooks/standard.security.test.ts",
      // token-bucket.ts (the memory store runs the rate-limit conformance suite)
      "test/ratelimit/memory.test.ts",
      // audit/chain.ts
      "test/audit/chain.test.ts",
      // config/parsers.ts
      "test/config/parsers.test.ts",
    ],
    exclude: ["**/node_modules/**", "test/**/*.services.test.ts"],
    // Stryker runs each mutant against the few tests that cover it, hundreds of runs in one test
    // process: with isolation every run imported the whole app again (seconds per mutant). The
    // modules hold no state of their own (STYLE §4), so the files can share one module graph.
    isolate: false,
  },
});
