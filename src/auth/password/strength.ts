/**
 * Password strength estimation with zxcvbn (@zxcvbn-ts/core, common + English
 * dictionaries). One estimate costs tens of milliseconds of CPU, and over a
 * second for a long hostile input with default options, so:
 *   - the input is bounded (`maxLength` 64: longer passwords are judged on
 *     their first 64 characters, a conservative lower bound on guesses) and
 *     so are l33t substitution combinations;
 *   - by default the estimate runs in a worker thread so a burst of
 *     registrations never stalls the event loop. The worker is started on
 *     first use, keeps the process alive only while a request is pending, and
 *     is replaced if it dies.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

export interface StrengthEstimate {
  /** zxcvbn score: 0 (too guessable) to 4 (very unguessable). */
  readonly score: number;
  readonly guessesLog10: number;
}

export interface StrengthEstimator {
  estimate(password: string, userInputs: readonly string[]): Promise<StrengthEstimate>;
  close(): Promise<void>;
}

/** zxcvbn options that bound the work per estimate. */
export const ZXCVBN_LIMITS = Object.freeze({ maxLength: 64, l33tMaxSubstitutions: 10 });

const require = createRequire(import.meta.url);

/** Estimates on the calling thread (CLI, tests); loads the dictionaries on first use. */
export function createInlineStrengthEstimator(): StrengthEstimator {
  let factory: Promise<{ check(p: string, u: (string | number)[]): StrengthEstimate }> | undefined;
  const load = async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([import("@zxcvbn-ts/core"), import("@zxcvbn-ts/language-common"), import("@zxcvbn-ts/language-en")]);
    return new ZxcvbnFactory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations, ...ZXCVBN_LIMITS });
  };
  return {
    async estimate(password, userInputs) {
      factory ??= load();
      const r = (await factory).check(password, [...userInputs]);
      return { score: r.score, guessesLog10: r.guessesLog10 };
    },
    async close() {},
  };
}

// Runs as CommonJS in the worker; the packages are passed as absolute paths so
// resolution does not depend on the process's working directory.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { ZxcvbnFactory } = require(workerData.core);
const common = require(workerData.common);
const en = require(workerData.en);
const zxcvbn = new ZxcvbnFactory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations, ...workerData.limits });
parentPort.on("message", ({ id, password, userInputs }) => {
  try {
    const r = zxcvbn.check(password, userInputs);
    parentPort.postMessage({ id, score: r.score, guessesLog10: r.guessesLog10 });
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err) });
  }
});
`;

interface Reply {
  id: number;
  score?: number;
  guessesLog10?: number;
  error?: string;
}

interface Pending {
  resolve: (e: StrengthEstimate) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** The worker asked: its loss fails this estimate, another's does not. */
  worker: Worker;
}

export interface WorkerStrengthEstimatorOptions {
  /** An estimate not answered within this time fails and the worker is replaced. Default 10 s. */
  timeoutMs?: number;
}

/** Estimates in a worker thread (the default for servers). */
export function createWorkerStrengthEstimator(options: WorkerStrengthEstimatorOptions = {}): StrengthEstimator {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pending = new Map<number, Pending>();
  let worker: Worker | undefined;
  let nextId = 1;

  /** Rejects the estimates in flight on worker `of` (every one when not given). */
  function fail(err: Error, of?: Worker): void {
    for (const [id, p] of pending) {
      if (of !== undefined && p.worker !== of) continue;
      clearTimeout(p.timer);
      pending.delete(id);
      p.reject(err);
    }
  }

  function start(): Worker {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { core: require.resolve("@zxcvbn-ts/core"), common: require.resolve("@zxcvbn-ts/language-common"), en: require.resolve("@zxcvbn-ts/language-en"), limits: ZXCVBN_LIMITS },
    });
    w.on("message", (reply: Reply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      clearTimeout(p.timer);
      if (pending.size === 0) w.unref();
      if (reply.error !== undefined || reply.score === undefined || reply.guessesLog10 === undefined) p.reject(new Error(`password strength estimate failed: ${reply.error ?? "no score"}`));
      else p.resolve({ score: reply.score, guessesLog10: reply.guessesLog10 });
    });
    // A worker that ends fails only what it held: after a timeout a new worker may already be serving.
    const lost = (err: Error) => {
      if (worker === w) worker = undefined;
      fail(err, w);
    };
    w.on("error", (err) => lost(new Error("password strength worker failed", { cause: err })));
    w.on("exit", (code) => lost(new Error(`password strength worker exited (code ${code})`)));
    return w;
  }

  return {
    estimate(password, userInputs) {
      worker ??= start();
      const w = worker;
      const id = nextId++;
      return new Promise<StrengthEstimate>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`password strength estimate timed out after ${timeoutMs} ms`));
          if (worker === w) worker = undefined;
          void w.terminate();
        }, timeoutMs);
        timer.unref();
        pending.set(id, { resolve, reject, timer, worker: w });
        w.ref(); // keep a CLI alive until the answer arrives
        w.postMessage({ id, password, userInputs: [...userInputs] });
      });
    },
    async close() {
      const w = worker;
      worker = undefined;
      fail(new Error("password strength estimator closed"));
      if (w) await w.terminate();
    },
  };
}
