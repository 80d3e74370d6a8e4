/**
 * `rampart serve --workers N` (WORKERS): a node:cluster primary that forks N
 * worker processes sharing one listening port, each running serve()
 * (serve.ts) with its own runtime and pools. The primary serves nothing itself.
 *
 * - Start: one worker first, the others once it is ready. The first start's
 *   work (migrations outside production, key creation) is done by one
 *   process, and a start that cannot succeed (pending migrations in
 *   production, an unreachable database, keys that do not fit) ends the
 *   primary with that worker's exit code instead of a crash loop.
 * - Crash: a worker that exits while the primary is not stopping is replaced
 *   after a back-off kept per worker slot: 100 ms, doubling per consecutive
 *   quick exit up to 30 s, back to 100 ms once a worker had served 10 s (a
 *   worker that dies while starting never has). Every such exit is logged at
 *   error with its exit code or signal.
 * - Stop: SIGTERM/SIGINT reaches every worker as SIGTERM, and each drains as a
 *   single server does (SHUTDOWN_DRAIN_MS, then SHUTDOWN_TIMEOUT_MS for
 *   in-flight requests). Nothing is replaced from then on. A worker still
 *   running STOP_MARGIN_MS after both is killed (SIGKILL) and logged at
 *   error. The primary's exit code is 0 when every worker stopped with 0, else 1.
 *
 * Metrics: with METRICS_ENABLED the primary merges every ready worker's
 * registry at each scrape (src/metrics/cluster.ts), for a worker's `/metrics`
 * on the main port that asks it over IPC, and on 127.0.0.1:METRICS_PORT,
 * which the primary binds itself (the workers do not).
 *
 * Workers need stores they all share: the embedded database belongs to one
 * process, and the in-process kv would give each worker its own rate limits,
 * lockouts, revocations and idempotency keys. clusterProblems names what is
 * missing, and `serve` refuses.
 */
import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import type { Config } from "../config/index.js";
import type { Logger } from "../log/index.js";
import { CLUSTER_METRICS_ENV, ClusterMetrics, startMetricsListener, type MetricsListener } from "../metrics/index.js";

/** The message a worker sends its primary once serve() listens. */
export const WORKER_READY = "rampart:worker-ready";

/** How long past SHUTDOWN_DRAIN_MS + SHUTDOWN_TIMEOUT_MS a worker may take to close its pools and exit. */
export const STOP_MARGIN_MS = 5_000;

export interface RestartBackoff {
  /** Wait before replacing a worker that exited after a stable run. */
  readonly initialMs: number;
  /** Longest wait, however many quick exits in a row. */
  readonly maxMs: number;
  /** Time serving (from ready) after which an exit no longer counts as part of a crash loop. */
  readonly stableMs: number;
}

export const RESTART_BACKOFF: RestartBackoff = Object.freeze({ initialMs: 100, maxMs: 30_000, stableMs: 10_000 });

/** The number of workers WORKERS asks for: `auto` is one per CPU core the process may use. */
export function workerCount(workers: Config["workers"]): number {
  return workers === "auto" ? Math.min(256, availableParallelism()) : workers;
}

/**
 * What keeps workers from sharing these stores, one entry per store; empty
 * when they can. `config` has the connection URLs a secret holds filled in
 * (resolveConnectionUrlsOnce).
 */
export function clusterProblems(config: Pick<Config, "databaseUrl" | "redisUrl">): string[] {
  const problems: string[] = [];
  if (config.databaseUrl === undefined) problems.push("neither DATABASE_URL nor the secret database-url is set, and the embedded database (PGlite) belongs to one process");
  if (config.redisUrl === undefined) {
    problems.push("neither REDIS_URL nor the secret redis-url is set, and the in-process memory store would give every worker its own rate limits, lockouts, token revocations and idempotency keys");
  }
  return problems;
}

/**
 * The wait before replacing a worker that exited after serving `uptimeMs` (0: it never got ready), given the
 * consecutive quick exits of its slot so far (`failures`), and the slot's new
 * count: an exit after a stable run starts the count again.
 */
export function nextRestart(failures: number, uptimeMs: number, backoff: RestartBackoff = RESTART_BACKOFF): { delayMs: number; failures: number } {
  const before = uptimeMs >= backoff.stableMs ? 0 : failures;
  return { delayMs: Math.min(backoff.maxMs, backoff.initialMs * 2 ** before), failures: before + 1 };
}

/** Whether this process is a worker forked by a cluster primary. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Fields a worker's log lines carry, so lines of one worker can be told from
 * another's on the shared output. The primary's lines carry its own `pid`, and
 * `worker` (the id) with `workerPid` when they speak of a worker.
 */
export function workerLogBindings(): { worker: number; pid: number } {
  return { worker: cluster.worker?.id ?? 0, pid: process.pid };
}

/** In a worker: tells the primary that serve() listens. */
export function reportWorkerReady(): void {
  process.send?.(WORKER_READY);
}

export interface ClusterOptions {
  workers: number;
  config: Pick<Config, "shutdownDrainMs" | "shutdownTimeoutMs" | "metricsEnabled" | "metricsPort">;
  log: Logger;
  backoff?: RestartBackoff;
}

interface Slot {
  readonly index: number;
  worker?: Worker;
  /** When the current worker reported ready; undefined until it does. */
  readyAt?: number;
  /** Consecutive exits shortly after a start. */
  failures: number;
  restart?: NodeJS.Timeout;
}

/**
 * Runs the primary until SIGTERM/SIGINT has stopped every worker, or the
 * first worker failed to start; resolves with the exit code for the process.
 * Rejects when METRICS_PORT cannot be bound, before any worker starts.
 */
export async function runCluster(options: ClusterOptions): Promise<number> {
  const { workers: count, config, log } = options;
  const backoff = options.backoff ?? RESTART_BACKOFF;
  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({ index, failures: 0 }));
  const running = () => slots.filter((s): s is Slot & { worker: Worker } => s.worker !== undefined);
  let firstReady = false;
  let allReadyLogged = false;
  let stopping = false;
  let exitCode = 0;
  let killTimer: NodeJS.Timeout | undefined;
  const ready = () => slots.flatMap((s) => (s.worker !== undefined && s.readyAt !== undefined ? [s.worker] : []));
  const onMetricsError = (err: unknown) => log.error({ err }, "aggregating the workers' metrics failed");
  const metrics = config.metricsEnabled ? new ClusterMetrics(ready, { onError: onMetricsError }) : undefined;
  let metricsListener: MetricsListener | undefined;
  if (metrics && config.metricsPort !== undefined) metricsListener = await startMetricsListener({ metrics, port: config.metricsPort, onError: onMetricsError });

  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      clearTimeout(killTimer);
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      void Promise.resolve(metricsListener?.close()).finally(() => resolve(code));
    };

    const fork = (slot: Slot) => {
      slot.restart = undefined;
      const worker = cluster.fork(metrics ? { [CLUSTER_METRICS_ENV]: "1" } : undefined);
      slot.worker = worker;
      slot.readyAt = undefined;
      const fields = () => ({ worker: worker.id, workerPid: worker.process.pid, slot: slot.index });
      worker.on("message", (message: unknown) => {
        if (metrics?.handle(worker, message)) return;
        if (message !== WORKER_READY || slot.worker !== worker) return;
        slot.readyAt = performance.now();
        log.info(fields(), "worker ready");
        if (!firstReady) {
          firstReady = true;
          if (!stopping) for (const s of slots) if (s !== slot) fork(s);
        }
        if (!allReadyLogged && slots.every((s) => s.readyAt !== undefined)) {
          allReadyLogged = true;
          log.info({ workers: count, workerPids: slots.map((s) => s.worker?.process.pid) }, "all workers serving");
        }
      });
      // A failed IPC send or signal; the exit that usually follows is handled below.
      worker.on("error", (err) => log.error({ ...fields(), err }, "worker process error"));
      worker.on("exit", (code: number | null, signal: NodeJS.Signals | null) => {
        metrics?.exited(worker);
        if (slot.worker !== worker) return;
        slot.worker = undefined;
        onExit(slot, { ...fields(), code, signal });
        slot.readyAt = undefined;
      });
    };

    const onExit = (slot: Slot, exit: { worker: number; workerPid: number | undefined; slot: number; code: number | null; signal: NodeJS.Signals | null }) => {
      if (stopping) {
        if (exit.code === 0) log.info(exit, "worker stopped");
        else {
          exitCode = 1;
          log.error(exit, "worker stopped with a failure");
        }
        if (running().length === 0) {
          log.info({ exitCode }, "all workers stopped");
          finish(exitCode);
        }
        return;
      }
      if (!firstReady) {
        // Its own error is on stderr already; a replacement would fail the same way, in a loop.
        log.error(exit, "the first worker exited before it was ready; not starting the others");
        finish(exit.code !== null && exit.code > 0 ? exit.code : 1);
        return;
      }
      const uptimeMs = slot.readyAt === undefined ? 0 : Math.round(performance.now() - slot.readyAt);
      const next = nextRestart(slot.failures, uptimeMs, backoff);
      slot.failures = next.failures;
      log.error(
        { ...exit, ready: slot.readyAt !== undefined, uptimeMs, consecutiveExits: next.failures, restartInMs: next.delayMs },
        next.failures > 1 ? "worker exited again soon after its start (crash loop); replacing it after a back-off" : "worker exited unexpectedly; replacing it",
      );
      slot.restart = setTimeout(() => fork(slot), next.delayMs);
    };

    const onSignal = (signal: NodeJS.Signals) => {
      // A repeated signal changes nothing: the grace period below bounds the stop.
      if (stopping) return;
      stopping = true;
      for (const s of slots) clearTimeout(s.restart);
      const workers = running();
      const graceMs = config.shutdownDrainMs + config.shutdownTimeoutMs + STOP_MARGIN_MS;
      log.info({ signal, workers: workers.length, graceMs }, "stopping workers");
      if (workers.length === 0) {
        log.info({ exitCode }, "all workers stopped");
        finish(exitCode);
        return;
      }
      for (const s of workers) s.worker.process.kill("SIGTERM");
      killTimer = setTimeout(() => {
        exitCode = 1;
        for (const s of running()) {
          log.error({ worker: s.worker.id, workerPid: s.worker.process.pid, slot: s.index, graceMs }, "worker still running after the shutdown grace period; killing it");
          s.worker.process.kill("SIGKILL");
        }
      }, graceMs);
    };

    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    log.info({ workers: count, ...(metricsListener ? { metricsUrl: metricsListener.url } : {}) }, "starting workers");
    fork(slots[0]!);
  });
}
