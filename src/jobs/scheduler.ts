/**
 * In-process scheduled jobs, one instance at a time: each run first takes
 * the job's lease in the database (src/db/leases.ts), so N instances running
 * the same schedule do the work once per period. Every run is logged with its
 * result and counted (stats for metrics).
 */
import { randomBytes } from "node:crypto";
import { acquireLease } from "../db/index.js";
import type { Runtime } from "../runtime/index.js";

export interface Job {
  name: string;
  intervalMs: number;
  /** What the job did (rows removed per kind, ...), for the log. */
  run(): Promise<Record<string, number | string>>;
}

export interface JobStats {
  runs: number;
  failures: number;
  skipped: number;
  lastRunAt: number | null;
  lastDurationMs: number | null;
}

export class Scheduler {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private readonly holder = `${process.pid}:${randomBytes(6).toString("hex")}`;
  readonly stats = new Map<string, JobStats>();

  constructor(private readonly runtime: Runtime) {}

  /** Starts every job on its interval (the first run after one interval, or at once with `runNow`). */
  start(jobs: readonly Job[], options: { runNow?: boolean } = {}): void {
    for (const job of jobs) {
      this.stats.set(job.name, { runs: 0, failures: 0, skipped: 0, lastRunAt: null, lastDurationMs: null });
      const tick = () => {
        const p = this.runOnce(job).finally(() => this.running.delete(p));
        this.running.add(p);
      };
      this.timers.push(setInterval(tick, job.intervalMs).unref());
      if (options.runNow) tick();
    }
  }

  /** Runs a job now if this instance gets its lease; returns its result, or undefined when another instance holds it. */
  async runOnce(job: Job): Promise<Record<string, number | string> | undefined> {
    const { db, clock, log } = this.runtime;
    const stats = this.stats.get(job.name) ?? { runs: 0, failures: 0, skipped: 0, lastRunAt: null, lastDurationMs: null };
    this.stats.set(job.name, stats);
    try {
      // The lease outlives a run but not the next period: a crashed holder frees it in time.
      if (!(await acquireLease(db.kysely, `job:${job.name}`, this.holder, Math.max(1000, job.intervalMs - 1000), clock.now()))) {
        stats.skipped++;
        return undefined;
      }
      const started = performance.now();
      const result = await job.run();
      stats.runs++;
      stats.lastRunAt = clock.now();
      stats.lastDurationMs = Math.round(performance.now() - started);
      log.info({ job: job.name, durationMs: stats.lastDurationMs, result }, "scheduled job ran");
      return result;
    } catch (err) {
      stats.failures++;
      log.error({ err, job: job.name }, "scheduled job failed");
      return undefined;
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    await Promise.allSettled([...this.running]);
  }
}
