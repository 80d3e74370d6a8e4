/**
 * The production preflight's own logic: how a capability's one-line problem
 * is split into the setting to change and the problem, and what it reports
 * when the secrets it needs cannot be read at all (every problem at once,
 * the unreadable store named, never a value).
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import type { SecretsProviderDefinition } from "../../src/secrets/index.js";
import { assertProductionReady, PreflightError, splitProblem } from "../../src/server/preflight.js";

describe("splitProblem", () => {
  it.each([
    ["ARGON2_ITERATIONS: must be at least 2, instead got 1", { variable: "ARGON2_ITERATIONS", problem: "must be at least 2, instead got 1" }],
    ["RAMPART_KMS=local: secret master-key is a development key", { variable: "secret master-key", problem: "is a development key (RAMPART_KMS=local)" }],
    ["secret blind-index-key: is not set", { variable: "secret blind-index-key", problem: "is not set" }],
    ["RAMPART_KMS=aws: AWS_KMS_KEY_ID is not set", { variable: "AWS_KMS_KEY_ID", problem: "is not set (RAMPART_KMS=aws)" }],
    ["RAMPART_KMS: PKCS11_MODULE is not set", { variable: "PKCS11_MODULE", problem: "is not set" }],
    ["RAMPART_KMS=acme: unknown KEK provider; known: local, aws", { variable: "RAMPART_KMS", problem: "unknown KEK provider; known: local, aws (RAMPART_KMS=acme)" }],
    ["the key store answered nonsense", { variable: "configuration", problem: "the key store answered nonsense" }],
  ])("%s", (text, expected) => {
    expect(splitProblem(text)).toEqual(expected);
  });
});

describe("production preflight with unreadable secrets", () => {
  const SEALED = "the store is sealed";
  /** A secrets store that is reachable in name only: every read fails. */
  const sealed: SecretsProviderDefinition = {
    scheme: "sealed",
    usage: "sealed:<path>",
    open: (ctx) => {
      const upstream = ctx.upstream("secrets.sealed");
      return {
        provider: (path) => ({
          id: `sealed:${path}`,
          upstream,
          locate: (name) => `sealed:${path} (key ${name})`,
          load: () => Promise.reject(new Error(SEALED)),
          list: () => Promise.reject(new Error(SEALED)),
        }),
        close: () => undefined,
      };
    },
  };

  it("refuses to start, listing the unreadable connection URLs and key material with the other problems", async () => {
    const config = loadConfig({ NODE_ENV: "production", LOG_LEVEL: "silent", RAMPART_SECRETS: "sealed:rampart", ARGON2_ITERATIONS: "1" });
    const failure = await assertProductionReady(config, { env: {}, secretsProviders: [sealed], kekProviders: [] }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(PreflightError);
    const problems = (failure as PreflightError).problems;
    const unreadable = problems.filter((p) => p.variable === "RAMPART_SECRETS");
    expect(unreadable.map((p) => p.problem.split(":")[0])).toEqual(["connection URLs could not be read", "key material could not be read"]);
    for (const p of unreadable) expect(p.problem).toMatch(/sealed/);
    expect(problems.map((p) => p.variable)).toContain("ARGON2_ITERATIONS");
    expect((failure as PreflightError).message).toContain("  - RAMPART_SECRETS: connection URLs could not be read");
  });
});
