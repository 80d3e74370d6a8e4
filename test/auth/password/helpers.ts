/** Shared fixtures for the password tests: hashers at chosen parameters. */
import { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from "../../../src/auth/password/index.js";
import type { Config } from "../../../src/config/index.js";

/** The production floor (the defaults of ARGON2_*). */
export const FLOOR = { memoryKib: 19_456, iterations: 2, parallelism: 1 } as const;

export function hasherWith(
  params: { memoryKib: number; iterations: number; parallelism: number },
  extra: { maxConcurrency?: number; nodeEnv?: Config["nodeEnv"]; workerNice?: number } & PasswordHasherOptions = {},
): PasswordHasher {
  const { maxConcurrency, nodeEnv, workerNice, ...options } = extra;
  return createPasswordHasher(
    { argon2MemoryKib: params.memoryKib, argon2Iterations: params.iterations, argon2Parallelism: params.parallelism, argon2MaxConcurrency: maxConcurrency, nodeEnv: nodeEnv ?? "test", ...(workerNice === undefined ? {} : { argon2WorkerNice: workerNice }) },
    options,
  );
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
