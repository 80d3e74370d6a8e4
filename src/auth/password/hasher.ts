/**
 * Password hashing with argon2id (RFC 9106) in PHC string format, off the event
 * loop: @node-rs/argon2 runs on dedicated worker threads at a lower scheduling
 * priority (argon2-workers.ts explains why not libuv's pool;
 * test/auth/password/hasher.test.ts shows the loop keeps turning during a
 * hash). A semaphore caps how many run at once — one per worker — so a login
 * flood queues, bounded, instead of thrashing memory (each hash holds m KiB).
 *
 * Unknown users cost the same as known ones: dummyVerify() checks the
 * password against a hash made at start-up with the same parameters.
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import type { Algorithm, Options } from "@node-rs/argon2";
import { RampartError } from "../../errors/index.js";
import { Argon2Workers, HashWorkersClosedError, type Computed } from "./argon2-workers.js";
import { PASSWORD_MAX_INPUT_UNITS, normalizePassword } from "./normalize.js";
import { ARGON2_OUTPUT_BYTES, argon2ParamsFromConfig, assertProductionParams, phcNeedsRehash, type Argon2Params, type PasswordHasherConfig } from "./params.js";
import { passwordLengthProblem } from "./policy-rules.js";
import { QueueFullError, Semaphore } from "./semaphore.js";

/** Hashes allowed to wait for a slot before new ones are refused with 503. */
export const DEFAULT_HASH_QUEUE = 1024;

export type HashOperation = "hash" | "verify" | "dummy";

/** One finished argon2 computation, for metrics (e.g. a prom-client histogram). */
export interface HashObservation {
  readonly op: HashOperation;
  /** Time from the request to its result, computing excluded: the queue, the wait behind the thread's current hash, the delivery of the result. */
  readonly waitMs: number;
  /** Time the hashing thread spent computing. */
  readonly durationMs: number;
}

export interface PasswordHasherOptions {
  /** Queue bound; beyond it hash/verify fail with 503 SERVICE_UNAVAILABLE. Default {@link DEFAULT_HASH_QUEUE}. */
  maxQueue?: number;
  /** Called after every computation. */
  observe?: (observation: HashObservation) => void;
}

export interface VerifyResult {
  /** The password matches. */
  readonly ok: boolean;
  /** The hash was made with other parameters than the current ones: store hash(password) now. */
  readonly needsRehash: boolean;
}

export interface DurationStats {
  count: number;
  sumMs: number;
  maxMs: number;
}

/** A snapshot of the hasher's load, for metrics and health. */
export interface PasswordHasherStats {
  readonly maxConcurrency: number;
  readonly maxQueue: number;
  /** Computations running now. */
  readonly active: number;
  /** Computations waiting for a hashing thread (queue depth; the task a thread holds after its current one included). */
  readonly queued: number;
  /** Finished computations by operation. */
  readonly completed: Readonly<Record<HashOperation, number>>;
  /** Requests refused because the queue was full. */
  readonly rejected: number;
  readonly wait: Readonly<DurationStats>;
  readonly compute: Readonly<DurationStats>;
}

export interface PasswordHasher {
  readonly params: Argon2Params;
  readonly maxConcurrency: number;
  /** The argon2id PHC string of the NFKC-normalized password (fresh 16-byte salt). */
  hash(password: string): Promise<string>;
  /** Checks a password against a stored PHC string. Throws when `phc` is not an argon2 PHC string. */
  verify(phc: string, password: string): Promise<VerifyResult>;
  /** Costs what verify() costs and always fails: call it when the account does not exist. */
  dummyVerify(password: string): Promise<VerifyResult>;
  /** Whether a stored hash differs from the current parameters. */
  needsRehash(phc: string): boolean;
  stats(): PasswordHasherStats;
  /** The niceness of each started hashing thread (null where it could not be lowered). */
  workerNiceness(): Promise<(number | null)[]>;
  /** Stops the hashing threads: computations running finish, queued and later ones fail with 503. Idempotent. */
  close(): Promise<void>;
}

/**
 * Hashing threads when ARGON2_MAX_CONCURRENCY is not given: one fewer than
 * the cores (at least one). Requests are handled on one thread, which then
 * keeps a core of its own while logins saturate the hasher — measured on 2
 * cores (bench/auth/identity-http.bench.ts, docs/performance.md): a login
 * then runs at the raw argon2 rate of its hashing threads and `GET /v1/me`
 * keeps near its idle latency, where hashing on every core leaves logins at
 * about 0.75 of the raw rate of all cores and up to doubles that latency.
 * The price is the hashing capacity of one core: on 2 cores, a sixth to a
 * quarter fewer logins per second at saturation (set ARGON2_MAX_CONCURRENCY
 * to the core count to buy them back).
 */
export function defaultHashConcurrency(cores: number = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/** Niceness of the hashing threads when ARGON2_WORKER_NICE is not given. */
export const DEFAULT_WORKER_NICE = 10;

const MISMATCH: VerifyResult = Object.freeze({ ok: false, needsRehash: false });

/**
 * Builds a hasher from the config. Refuses (throws WeakArgon2ParamsError)
 * parameters below the floor when NODE_ENV is production.
 */
export function createPasswordHasher(config: PasswordHasherConfig, options: PasswordHasherOptions = {}): PasswordHasher {
  const params = argon2ParamsFromConfig(config);
  assertProductionParams(params, config.nodeEnv);
  const maxConcurrency = config.argon2MaxConcurrency ?? defaultHashConcurrency();
  const workers = new Argon2Workers({ size: maxConcurrency, nice: config.argon2WorkerNice ?? DEFAULT_WORKER_NICE });
  // The workers hold the task they compute and the next one (argon2-workers.ts), so the semaphore
  // admits their capacity; each still computes one hash at a time.
  const semaphore = new Semaphore(workers.capacity, options.maxQueue ?? DEFAULT_HASH_QUEUE);
  const argonOptions: Options = {
    algorithm: 2 as Algorithm, // Argon2id (RFC 9106 §4: the recommended variant)
    memoryCost: params.memoryKib,
    timeCost: params.iterations,
    parallelism: params.parallelism,
    outputLen: ARGON2_OUTPUT_BYTES,
  };
  const completed: Record<HashOperation, number> = { hash: 0, verify: 0, dummy: 0 };
  const wait: DurationStats = { count: 0, sumMs: 0, maxMs: 0 };
  const compute: DurationStats = { count: 0, sumMs: 0, maxMs: 0 };
  let rejected = 0;

  function record(d: DurationStats, ms: number): void {
    d.count++;
    d.sumMs += ms;
    if (ms > d.maxMs) d.maxMs = ms;
  }

  async function limited<T>(op: HashOperation, task: () => Promise<Computed<T>>): Promise<T> {
    const enqueued = performance.now();
    try {
      const { value, computeMs } = await semaphore.run(task);
      // Waiting = the semaphore's queue and the worker's own (the task it holds after the current one).
      const waitMs = Math.max(0, performance.now() - enqueued - computeMs);
      completed[op]++;
      record(wait, waitMs);
      record(compute, computeMs);
      options.observe?.({ op, waitMs, durationMs: computeMs });
      return value;
    } catch (err) {
      if (err instanceof QueueFullError) {
        rejected++;
        throw new RampartError("SERVICE_UNAVAILABLE", { headers: { "Retry-After": "1" }, cause: err });
      }
      // Shutting down: a request still queued for a hash is told to retry (on another instance).
      if (err instanceof HashWorkersClosedError) throw new RampartError("SERVICE_UNAVAILABLE", { headers: { "Retry-After": "1" }, cause: err });
      throw err;
    }
  }

  // Precomputed at the same parameters (and through the same queue) so that
  // dummyVerify does exactly the work of a real verify.
  const dummyHash = limited("hash", () => workers.hash(randomBytes(32), argonOptions));
  dummyHash.catch(() => undefined); // surfaced by dummyVerify, never unhandled

  async function check(op: HashOperation, phc: string, password: string): Promise<boolean> {
    // Hostile sizes are refused before normalization; no stored password can be this long.
    if (password.length > PASSWORD_MAX_INPUT_UNITS) return false;
    const normalized = normalizePassword(password);
    return limited(op, () => workers.verify(phc, normalized, argonOptions));
  }

  return {
    params,
    maxConcurrency,
    async hash(password) {
      const normalized = password.length > PASSWORD_MAX_INPUT_UNITS ? password : normalizePassword(password);
      const tooLong = passwordLengthProblem(normalized, 1);
      if (tooLong) throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: "body.password", message: tooLong }] } });
      return limited("hash", () => workers.hash(normalized, argonOptions));
    },
    async verify(phc, password) {
      let rehash: boolean;
      try {
        rehash = phcNeedsRehash(phc, params);
      } catch (cause) {
        throw new Error("the stored password hash is not an argon2 PHC string", { cause });
      }
      const ok = await check("verify", phc, password);
      return ok ? { ok, needsRehash: rehash } : MISMATCH;
    },
    async dummyVerify(password) {
      const phc = await dummyHash;
      // Same steps as verify(), parse included, so the two paths cost the same.
      phcNeedsRehash(phc, params);
      await check("dummy", phc, password);
      return MISMATCH;
    },
    needsRehash(phc) {
      return phcNeedsRehash(phc, params);
    },
    stats() {
      const active = workers.computing;
      return {
        maxConcurrency,
        maxQueue: semaphore.maxQueue,
        active,
        // The semaphore admits the workers' capacity: what it lets through and is not computing waits in a worker.
        queued: semaphore.queued + Math.max(0, semaphore.active - active),
        completed: { ...completed },
        rejected,
        wait: { ...wait },
        compute: { ...compute },
      };
    },
    workerNiceness: () => workers.niceness(),
    close: () => workers.close(),
  };
}
