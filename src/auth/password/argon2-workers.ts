/**
 * argon2id on dedicated worker threads at a lower scheduling priority.
 *
 * Why not @node-rs/argon2's async functions (napi work on libuv's thread
 * pool)? Two measured problems on a 2-core machine under a login flood:
 *   - the hashes occupy the pool that WebCrypto, file and DNS work share, so
 *     unrelated async crypto queues behind them (a WebCrypto token signature
 *     takes 13 ms instead of 0.15 ms: bench/auth/tokens.bench.ts);
 *   - pool threads run at the event loop's priority, so with one hash per
 *     core the scheduler makes the event loop wait its turn, and the p99 of
 *     cheap requests doubled while logins ran.
 * Here each worker computes with the synchronous functions and first lowers
 * its own thread's priority (`os.setPriority(0, nice)`: on Linux `who = 0` is
 * the calling thread, not the process). The event loop then preempts hashing
 * whenever it has work, and hashing still takes every idle cycle, so hash
 * throughput is unchanged (bench/auth/password.bench.ts) while latency of
 * other requests holds (bench/auth/identity-http.bench.ts).
 *
 * Each worker holds the task it computes and at most one more
 * (TASKS_PER_WORKER):
 * the next task is already in its message queue when a hash finishes, so it
 * starts at once instead of waiting for the event loop to see the result and
 * send more work — under a login flood the event loop is busy, and that wait
 * left the hashing thread idle for a tenth of the time
 * (bench/auth/identity-http.bench.ts). A worker computes one hash at a time,
 * so memory stays one hash per worker. The hasher's semaphore admits
 * `capacity` (size × TASKS_PER_WORKER) tasks, so a worker with room always exists when a task
 * starts. A worker that dies fails its tasks and is replaced on the next one.
 * Idle workers are unref'd, so they never keep a process (a CLI command)
 * alive. Closing sets a flag the workers read before each task: tasks not
 * started yet are refused, the ones computing finish.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Options } from "@node-rs/argon2";

const require = createRequire(import.meta.url);

// Runs as CommonJS in the worker; the package is passed as an absolute path so
// resolution does not depend on the worker's working directory.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const os = require("node:os");
let nice = null;
try {
  os.setPriority(0, workerData.nice);
  nice = os.getPriority(0);
} catch {
  // Not permitted here (some sandboxes): hash at the default priority.
}
const argon2 = require(workerData.argon2);
const closing = new Int32Array(workerData.closing);
const computing = new Int32Array(workerData.computing);
parentPort.postMessage({ id: 0, nice });
parentPort.on("message", (m) => {
  if (Atomics.load(closing, 0) === 1) {
    parentPort.postMessage({ id: m.id, closed: true });
    return;
  }
  Atomics.store(computing, 0, 1);
  const t0 = performance.now();
  let reply;
  try {
    const value = m.op === "hash" ? argon2.hashSync(m.password, m.options) : argon2.verifySync(m.phc, m.password, m.options);
    reply = { id: m.id, value, ms: performance.now() - t0 };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  // Cleared before the answer is sent: once a caller has its result, the flag
  // no longer counts that computation (cleared after, a caller could still see it).
  Atomics.store(computing, 0, 0);
  parentPort.postMessage(reply);
});
`;

/** A task submitted after close() (a shutdown in progress). */
export class HashWorkersClosedError extends Error {
  override readonly name = "HashWorkersClosedError";
  constructor() {
    super("the password hashing workers are closed");
  }
}

type Task = { op: "hash"; password: string | Uint8Array; options: Options } | { op: "verify"; phc: string; password: string; options: Options };

/** A result and the time the worker spent computing it (waiting in its queue excluded). */
export interface Computed<T> {
  value: T;
  computeMs: number;
}

interface Reply {
  id: number;
  value?: string | boolean;
  ms?: number;
  error?: string;
  closed?: true;
  nice?: number | null;
}

interface Pending {
  resolve: (v: Computed<string | boolean>) => void;
  reject: (e: Error) => void;
  settled: Promise<unknown>;
}

interface Slot {
  worker: Worker;
  /** The thread's niceness once it reported in (null: could not be changed). */
  nice: Promise<number | null>;
  /** Tasks sent to this worker and not answered yet, in the order it runs them. */
  pending: Map<number, Pending>;
  /** 1 while the worker computes (it sets the flag itself), else 0. */
  computing: Int32Array;
}

export interface Argon2WorkersOptions {
  /** Worker threads (= computations at once). */
  size: number;
  /** Niceness of the worker threads, 0 (the event loop's) to 19 (lowest). */
  nice: number;
}

/** Tasks a worker holds at once: the one it computes and the next one. */
const TASKS_PER_WORKER = 2;

export class Argon2Workers {
  private readonly all = new Set<Slot>();
  private readonly closingFlag = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;
  private closing: Promise<void> | undefined;

  constructor(private readonly o: Argon2WorkersOptions) {
    if (!Number.isSafeInteger(o.size) || o.size < 1) throw new RangeError(`size must be an integer ≥ 1, instead got ${o.size}`);
    if (!Number.isSafeInteger(o.nice) || o.nice < 0 || o.nice > 19) throw new RangeError(`nice must be an integer from 0 to 19, instead got ${o.nice}`);
  }

  /** Hashes being computed now (tasks a worker holds but has not started are not counted). */
  get computing(): number {
    let n = 0;
    for (const s of this.all) n += Atomics.load(s.computing, 0);
    return n;
  }

  /** Tasks that may be handed to the workers at once. */
  get capacity(): number {
    return this.o.size * TASKS_PER_WORKER;
  }

  hash(password: string | Uint8Array, options: Options): Promise<Computed<string>> {
    return this.run({ op: "hash", password, options }) as Promise<Computed<string>>;
  }

  verify(phc: string, password: string, options: Options): Promise<Computed<boolean>> {
    return this.run({ op: "verify", phc, password, options }) as Promise<Computed<boolean>>;
  }

  /** The niceness each started worker thread runs at (null where it could not be lowered). */
  niceness(): Promise<(number | null)[]> {
    return Promise.all([...this.all].map((s) => s.nice));
  }

  private run(task: Task): Promise<Computed<string | boolean>> {
    if (this.closing) return Promise.reject(new HashWorkersClosedError());
    const slot = this.pick();
    const id = this.nextId++;
    let entry!: Pending;
    const result = new Promise<Computed<string | boolean>>((resolve, reject) => {
      entry = { resolve, reject, settled: Promise.resolve() };
    });
    entry.settled = result.catch(() => undefined);
    slot.pending.set(id, entry);
    slot.worker.ref(); // keep a CLI alive until the answer arrives
    slot.worker.postMessage({ id, ...task });
    return result;
  }

  /** An idle worker, else a new one while fewer than `size` run, else the least loaded with room. */
  private pick(): Slot {
    let best: Slot | undefined;
    for (const s of this.all) if (!best || s.pending.size < best.pending.size) best = s;
    if (best?.pending.size === 0) return best;
    if (this.all.size < this.o.size) return this.start();
    if (!best || best.pending.size >= TASKS_PER_WORKER) throw new Error(`argon2 workers exhausted (${this.capacity} tasks held)`);
    return best;
  }

  private start(): Slot {
    const computing = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { nice: this.o.nice, argon2: require.resolve("@node-rs/argon2"), closing: this.closingFlag.buffer, computing: computing.buffer } });
    let reportNice: (n: number | null) => void = () => undefined;
    const slot: Slot = { worker, nice: new Promise((r) => (reportNice = r)), pending: new Map(), computing };
    this.all.add(slot);
    worker.on("message", (reply: Reply) => {
      if (reply.id === 0) {
        reportNice(reply.nice ?? null);
        return;
      }
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) worker.unref();
      if (reply.closed) p.reject(new HashWorkersClosedError());
      else if (reply.error !== undefined) p.reject(new Error(`argon2: ${reply.error}`));
      else p.resolve({ value: reply.value!, computeMs: reply.ms ?? 0 });
    });
    const lost = (err: Error) => {
      if (!this.all.delete(slot)) return;
      reportNice(null);
      const tasks = [...slot.pending.values()];
      slot.pending.clear();
      for (const p of tasks) p.reject(err);
    };
    worker.on("error", (err) => lost(new Error("argon2 worker failed", { cause: err })));
    worker.on("exit", (code) => lost(new Error(`argon2 worker exited (code ${code})`)));
    return slot;
  }

  /**
   * Stops every worker. New tasks fail at once, and so do tasks a worker has
   * not started yet; tasks already computing are let finish first (a
   * graceful shutdown still answers the logins in flight), and each takes one
   * hash's time. Idempotent: every call resolves when the first one's work is
   * done.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      Atomics.store(this.closingFlag, 0, 1);
      const slots = [...this.all];
      await Promise.all(slots.flatMap((s) => [...s.pending.values()].map((p) => p.settled)));
      await Promise.all(slots.map((s) => s.worker.terminate()));
    })();
    return this.closing;
  }
}
