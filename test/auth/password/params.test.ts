import { describe, expect, it } from "vitest";
import {
  ARGON2_FLOOR,
  argon2ParamProblems,
  argon2ParamsFromConfig,
  assertProductionParams,
  passwordPreflight,
  phcNeedsRehash,
  WeakArgon2ParamsError,
} from "../../../src/auth/password/index.js";
import { loadConfig } from "../../../src/config/index.js";
import { FLOOR, hasherWith } from "./helpers.js";

// Reference PHC strings from the argon2 reference implementation's test
// suite (phc-winner-argon2 src/test.c), not produced by the code under test.
const REF_ARGON2ID = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
const REF_ARGON2I = "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA";
const REF_ARGON2I_V10 = "$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";
// From the Debian argon2 CLI: `echo -n password | argon2 somesaltsomesalt -id -m 16 -t 2 -p 1 -e` (16-byte salt).
const CLI_ARGON2ID_16 = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$/DO3gTkjHTS3Fia9YkXB1y76GQrWBcPYFmpyrc7fosI";

describe("argon2 configuration", () => {
  it("defaults to the OWASP floor m=19456 KiB, t=2, p=1", () => {
    const config = loadConfig({});
    expect(argon2ParamsFromConfig(config)).toEqual({ memoryKib: 19_456, iterations: 2, parallelism: 1 });
    expect(ARGON2_FLOOR).toEqual({ memoryKib: 19_456, iterations: 2, parallelism: 1 });
    expect(config.passwordMinLength).toBe(12);
    expect(config.argon2MaxConcurrency).toBeUndefined();
  });

  it("reads ARGON2_* and PASSWORD_MIN_LENGTH, refusing malformed values with the variable name", () => {
    const config = loadConfig({ ARGON2_MEMORY_KIB: "65536", ARGON2_ITERATIONS: "3", ARGON2_PARALLELISM: "2", ARGON2_MAX_CONCURRENCY: "3", PASSWORD_MIN_LENGTH: "15" });
    expect(argon2ParamsFromConfig(config)).toEqual({ memoryKib: 65_536, iterations: 3, parallelism: 2 });
    expect(config.argon2MaxConcurrency).toBe(3);
    expect(config.passwordMinLength).toBe(15);
    expect(() => loadConfig({ ARGON2_MEMORY_KIB: "lots" })).toThrow(/ARGON2_MEMORY_KIB: expected an integer/);
    expect(() => loadConfig({ PASSWORD_MIN_LENGTH: "6" })).toThrow(/PASSWORD_MIN_LENGTH: expected an integer from 8 to 128, instead got '6'/);
    expect(() => loadConfig({ ARGON2_MAX_CONCURRENCY: "0" })).toThrow(/ARGON2_MAX_CONCURRENCY/);
  });

  it("production refuses each parameter below the floor, naming the variable and the value", () => {
    expect(() => assertProductionParams(FLOOR, "production")).not.toThrow();
    expect(() => assertProductionParams({ memoryKib: 65_536, iterations: 3, parallelism: 2 }, "production")).not.toThrow();
    expect(() => assertProductionParams({ ...FLOOR, memoryKib: 19_455 }, "production")).toThrow(/ARGON2_MEMORY_KIB: must be at least 19456 in production, instead got 19455/);
    expect(() => assertProductionParams({ ...FLOOR, iterations: 1 }, "production")).toThrow(/ARGON2_ITERATIONS: .*instead got 1/);
    expect(() => assertProductionParams({ ...FLOOR, iterations: 1 }, "production")).toThrow(WeakArgon2ParamsError);
    // Development and tests may use cheap parameters...
    expect(() => assertProductionParams({ memoryKib: 64, iterations: 1, parallelism: 1 }, "test")).not.toThrow();
    // ...but never ones argon2 itself rejects (RFC 9106 §3.1: m ≥ 8p).
    expect(() => assertProductionParams({ memoryKib: 8, iterations: 1, parallelism: 2 }, "development")).toThrow(/8 × ARGON2_PARALLELISM/);
    expect(argon2ParamProblems({ memoryKib: 1024, iterations: 1, parallelism: 1 })).toHaveLength(2);
  });

  it("a production hasher cannot be built with weak parameters; preflight lists the problems", () => {
    expect(() => hasherWith({ memoryKib: 4096, iterations: 2, parallelism: 1 }, { nodeEnv: "production" })).toThrow(WeakArgon2ParamsError);
    const weak = loadConfig({ NODE_ENV: "production", ARGON2_MEMORY_KIB: "4096", ARGON2_ITERATIONS: "1" });
    expect(passwordPreflight(weak)).toEqual([
      "ARGON2_MEMORY_KIB: must be at least 19456 in production, instead got 4096",
      "ARGON2_ITERATIONS: must be at least 2 in production, instead got 1",
    ]);
    expect(passwordPreflight(loadConfig({ NODE_ENV: "production" }))).toEqual([]);
    expect(passwordPreflight(loadConfig({ ARGON2_MEMORY_KIB: "4096" }))).toEqual([]);
  });

  it("needsRehash flags any difference from the current parameters, weaker or stronger", () => {
    const current = { memoryKib: 65_536, iterations: 2, parallelism: 1 };
    expect(phcNeedsRehash(CLI_ARGON2ID_16, current)).toBe(false);
    expect(phcNeedsRehash(CLI_ARGON2ID_16, FLOOR)).toBe(true);
    expect(phcNeedsRehash(CLI_ARGON2ID_16, { ...current, memoryKib: 131_072 })).toBe(true);
    expect(phcNeedsRehash(CLI_ARGON2ID_16, { ...current, iterations: 3 })).toBe(true);
    expect(phcNeedsRehash(CLI_ARGON2ID_16, { ...current, parallelism: 2 })).toBe(true);
    // Same m/t/p but an 8-byte salt, another variant or another version: rehash.
    expect(phcNeedsRehash(REF_ARGON2ID, current)).toBe(true);
    expect(phcNeedsRehash(REF_ARGON2I, current)).toBe(true);
    expect(phcNeedsRehash(REF_ARGON2I_V10, current)).toBe(true);
    expect(() => phcNeedsRehash("not a hash", current)).toThrow();
  });
});
