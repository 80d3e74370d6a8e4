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
 * One task per worker at a time: the hasher's semaphore admits at most
 * `size` tasks, so a free worker always exists when a task starts. A worker
 * that dies fails its task and is replaced on the next one. Idle workers are
 * unref'd, so they never keep a process (a CLI command) alive.
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
parentPort.postMessage({ id: 0, nice });
parentPort.on("message", (m) => {
  try {
    const value = m.op === "hash" ? argon2.hashSync(m.password, m.options) : argon2.verifySync(m.phc, m.password, m.options);
    parentPort.postMessage({ id: m.id, value });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
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

interface Reply {
  id: number;
  value?: string | boolean;
  error?: string;
  nice?: number | null;
}

interface Slot {
  worker: Worker;
  /** The thread's niceness once it reported in (null: could not be changed). */
  nice: Promise<number | null>;
  pending: { id: number; resolve: (v: string | boolean) => void; reject: (e: Error) => void } | undefined;
  /** Settles when the slot's current task does (resolved at once when idle). */
  done: Promise<unknown>;
}

export interface Argon2WorkersOptions {
  /** Worker threads (= computations at once). */
  size: number;
  /** Niceness of the worker threads, 0 (the event loop's) to 19 (lowest). */
  nice: number;
}

export class Argon2Workers {
  private readonly idle: Slot[] = [];
  private readonly all = new Set<Slot>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: Argon2WorkersOptions) {
    if (!Number.isSafeInteger(o.size) || o.size < 1) throw new RangeError(`size must be an integer ≥ 1, instead got ${o.size}`);
    if (!Number.isSafeInteger(o.nice) || o.nice < 0 || o.nice > 19) throw new RangeError(`nice must be an integer from 0 to 19, instead got ${o.nice}`);
  }

  hash(password: string | Uint8Array, options: Options): Promise<string> {
    return this.run({ op: "hash", password, options }) as Promise<string>;
  }

  verify(phc: string, password: string, options: Options): Promise<boolean> {
    return this.run({ op: "verify", phc, password, options }) as Promise<boolean>;
  }

  /** The niceness each started worker thread runs at (null where it could not be lowered). */
  niceness(): Promise<(number | null)[]> {
    return Promise.all([...this.all].map((s) => s.nice));
  }

  private run(task: Task): Promise<string | boolean> {
    if (this.closed) return Promise.reject(new HashWorkersClosedError());
    const slot = this.idle.pop() ?? this.start();
    const id = this.nextId++;
    const result = new Promise<string | boolean>((resolve, reject) => {
      slot.pending = { id, resolve, reject };
      slot.worker.ref(); // keep a CLI alive until the answer arrives
      slot.worker.postMessage({ id, ...task });
    });
    slot.done = result.catch(() => undefined);
    return result;
  }

  private start(): Slot {
    if (this.all.size >= this.o.size) throw new Error(`argon2 workers exhausted (${this.o.size})`);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { nice: this.o.nice, argon2: require.resolve("@node-rs/argon2") } });
    let reportNice: (n: number | null) => void = () => undefined;
    const slot: Slot = { worker, nice: new Promise((r) => (reportNice = r)), pending: undefined, done: Promise.resolve() };
    this.all.add(slot);
    worker.on("message", (reply: Reply) => {
      if (reply.id === 0) {
        reportNice(reply.nice ?? null);
        return;
      }
      const p = slot.pending;
      if (!p || p.id !== reply.id) return;
      slot.pending = undefined;
      worker.unref();
      if (!this.closed) this.idle.push(slot);
      if (reply.error !== undefined) p.reject(new Error(`argon2: ${reply.error}`));
      else p.resolve(reply.value!);
    });
    const lost = (err: Error) => {
      if (!this.all.delete(slot)) return;
      const i = this.idle.indexOf(slot);
      if (i >= 0) this.idle.splice(i, 1);
      reportNice(null);
      const p = slot.pending;
      slot.pending = undefined;
      p?.reject(err);
    };
    worker.on("error", (err) => lost(new Error("argon2 worker failed", { cause: err })));
    worker.on("exit", (code) => lost(new Error(`argon2 worker exited (code ${code})`)));
    return slot;
  }

  /**
   * Stops every worker. New tasks fail at once; tasks already computing are
   * let finish first (a graceful shutdown still answers the logins in flight),
   * and each takes one hash's time.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    const slots = [...this.all];
    await Promise.all(slots.map((s) => s.done));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
