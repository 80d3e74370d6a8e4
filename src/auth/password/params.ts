/**
 * argon2id parameters: reading them from the config, the production floor
 * (OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1) and the "needs
 * rehash" comparison of a stored PHC string against the current parameters.
 */
import { parseOptions } from "@node-rs/argon2";
import type { Config } from "../../config/index.js";

/** argon2id cost parameters as they appear in a PHC string (`m`, `t`, `p`). */
export interface Argon2Params {
  /** Memory cost in KiB (`m=`). */
  readonly memoryKib: number;
  /** Passes over memory (`t=`). */
  readonly iterations: number;
  /** Lanes (`p=`). */
  readonly parallelism: number;
}

/** The weakest parameters production accepts. */
export const ARGON2_FLOOR: Argon2Params = Object.freeze({ memoryKib: 19_456, iterations: 2, parallelism: 1 });

/** Tag length in bytes; 32 is the argon2 CLI's and RFC 9106 §4's recommendation. */
export const ARGON2_OUTPUT_BYTES = 32;
/** Salt length in bytes @node-rs/argon2 generates (RFC 9106 §3.1: 16 bytes suffice). */
export const ARGON2_SALT_BYTES = 16;

// The const enums of @node-rs/argon2's typings cannot be imported under
// isolatedModules; these are their runtime values (index.d.ts).
const ALGORITHM_ARGON2ID = 2;
const VERSION_0X13 = 1;

/** The config keys the password hasher reads. */
export type PasswordHasherConfig = Pick<Config, "argon2MemoryKib" | "argon2Iterations" | "argon2Parallelism" | "argon2MaxConcurrency" | "nodeEnv"> & Partial<Pick<Config, "argon2WorkerNice">>;

/** The argon2id parameters of a config. */
export function argon2ParamsFromConfig(config: Pick<Config, "argon2MemoryKib" | "argon2Iterations" | "argon2Parallelism">): Argon2Params {
  return Object.freeze({ memoryKib: config.argon2MemoryKib, iterations: config.argon2Iterations, parallelism: config.argon2Parallelism });
}

/**
 * Problems that make parameters weaker than the floor, each naming the
 * variable and the received value; empty when none (for `rampart preflight`).
 */
export function argon2ParamProblems(params: Argon2Params): string[] {
  const problems: string[] = [];
  if (params.memoryKib < ARGON2_FLOOR.memoryKib) problems.push(`ARGON2_MEMORY_KIB: must be at least ${ARGON2_FLOOR.memoryKib} in production, instead got ${params.memoryKib}`);
  if (params.iterations < ARGON2_FLOOR.iterations) problems.push(`ARGON2_ITERATIONS: must be at least ${ARGON2_FLOOR.iterations} in production, instead got ${params.iterations}`);
  if (params.parallelism < ARGON2_FLOOR.parallelism) problems.push(`ARGON2_PARALLELISM: must be at least ${ARGON2_FLOOR.parallelism} in production, instead got ${params.parallelism}`);
  // RFC 9106 §3.1: m must be at least 8p KiB.
  if (params.memoryKib < 8 * params.parallelism) problems.push(`ARGON2_MEMORY_KIB: must be at least 8 × ARGON2_PARALLELISM (${8 * params.parallelism}), instead got ${params.memoryKib}`);
  return problems;
}

/** Thrown when production is configured with argon2 parameters below the floor. */
export class WeakArgon2ParamsError extends Error {
  override readonly name = "WeakArgon2ParamsError";
  constructor(readonly problems: string[]) {
    super(`refusing weak password hashing parameters: ${problems.join("; ")}`);
  }
}

/**
 * Refuses parameters below {@link ARGON2_FLOOR} when `nodeEnv` is
 * `production` (fail closed: no hasher is built). Outside production, weaker
 * parameters are allowed so tests stay fast; the m ≥ 8p rule always applies.
 */
export function assertProductionParams(params: Argon2Params, nodeEnv: Config["nodeEnv"]): void {
  const problems = argon2ParamProblems(params).filter((p) => nodeEnv === "production" || p.includes("8 × ARGON2_PARALLELISM"));
  if (problems.length > 0) throw new WeakArgon2ParamsError(problems);
}

/** The preflight view: the floor problems of a config in production, empty elsewhere. */
export function passwordPreflight(config: Pick<Config, "argon2MemoryKib" | "argon2Iterations" | "argon2Parallelism" | "nodeEnv">): string[] {
  return config.nodeEnv === "production" ? argon2ParamProblems(argon2ParamsFromConfig(config)) : [];
}

/**
 * Whether a stored PHC string was made with anything other than the current
 * parameters (algorithm, version, m, t, p, tag or salt length). A hash that
 * differs, weaker or stronger, is replaced at the next successful login.
 * Throws on a string that is not an argon2 PHC string.
 */
export function phcNeedsRehash(phc: string, params: Argon2Params): boolean {
  const o = parseOptions(phc);
  return (
    o.algorithm !== ALGORITHM_ARGON2ID ||
    o.version !== VERSION_0X13 ||
    o.memoryCost !== params.memoryKib ||
    o.timeCost !== params.iterations ||
    o.parallelism !== params.parallelism ||
    o.outputLen !== ARGON2_OUTPUT_BYTES ||
    o.saltLen < ARGON2_SALT_BYTES
  );
}
