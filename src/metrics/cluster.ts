/**
 * Metrics of `rampart serve --workers N` (src/server/cluster.ts), merged so
 * that one scrape reports the whole instance rather than the worker that
 * happened to accept the connection.
 *
 * Every worker keeps its own registry (a counter grows in the process that
 * counts). The primary keeps none: at each scrape it asks every ready worker
 * for its registry as JSON (`getMetricsAsJSON`) over the cluster's IPC
 * channel, and merges the answers with prom-client's
 * `AggregatorRegistry.aggregate`, which applies each metric's `aggregator`:
 * counters, histograms and summaries are summed, gauges as each declares
 * (sum, max, min, first, average, or omit). Where a scrape is served:
 *
 * - main port: the worker that accepts the connection checks the token as
 *   a single process does, asks the primary for the aggregate (`scrape`
 *   message), and answers with it: the same URL and the same token;
 * - METRICS_PORT: the primary itself listens on 127.0.0.1:METRICS_PORT
 *   (startMetricsListener with a ClusterMetrics as its source), and the
 *   workers bind nothing (`aggregatedByPrimary()`).
 *
 * Not prom-client's `clusterMetrics()`: it asks every connected worker,
 * including one still starting that has no listener for the request yet (a
 * scrape during any start or replacement would wait its fixed 5 s and fail),
 * and waits out those 5 s for a worker that exits mid-scrape. Here the
 * primary asks only workers that reported ready (one that is starting has
 * served nothing), leaves out one that exits before it answers (its counts
 * leave the instance's with it, as at a restart), and fails the scrape only
 * when a live worker does not answer within COLLECT_TIMEOUT_MS: a partial sum
 * would look like a counter reset to rate().
 *
 * The primary marks the workers it aggregates with CLUSTER_METRICS_ENV in
 * their environment (cluster.fork), so a host app that runs its own
 * node:cluster primary keeps per-process metrics instead of waiting for
 * answers that never come.
 */
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, Gauge, type Registry } from "prom-client";

/** Set (to `1`) in the environment of workers whose metrics their primary aggregates. */
export const CLUSTER_METRICS_ENV = "RAMPART_CLUSTER_METRICS";

/** How long the primary waits for every ready worker's registry. */
export const COLLECT_TIMEOUT_MS = 3_000;
/** How long a worker waits for the primary's aggregate (longer, so the primary's own error arrives first). */
export const SCRAPE_TIMEOUT_MS = COLLECT_TIMEOUT_MS + 1_000;

/** Primary → worker: send your registries. */
const COLLECT = "rampart:metrics-collect";
/** Worker → primary: the registries as JSON, or an error. */
const COLLECTED = "rampart:metrics-collected";
/** Worker → primary: send me the instance's aggregate. */
const SCRAPE = "rampart:metrics-scrape";
/** Primary → worker: the aggregate text, or an error. */
const SCRAPED = "rampart:metrics-scraped";

interface Message {
  type: string;
  id: number;
  metrics?: object[];
  text?: string;
  error?: string;
}

function isMessage(message: unknown): message is Message {
  return typeof message === "object" && message !== null && typeof (message as Message).type === "string" && typeof (message as Message).id === "number";
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether this process is a worker whose primary serves the aggregate of all workers' metrics. */
export function aggregatedByPrimary(): boolean {
  return cluster.isWorker && process.env[CLUSTER_METRICS_ENV] === "1";
}

// ---- worker side -------------------------------------------------------------

const registries = new Set<Registry>();
const scrapes = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
let nextScrape = 0;

function onWorkerMessage(message: unknown): void {
  if (!isMessage(message)) return;
  if (message.type === COLLECT) {
    const { id } = message;
    Promise.all([...registries].map((r) => r.getMetricsAsJSON())).then(
      (metrics) => process.send?.({ type: COLLECTED, id, metrics }),
      (err: unknown) => process.send?.({ type: COLLECTED, id, error: errorText(err) }),
    );
  } else if (message.type === SCRAPED) {
    const scrape = scrapes.get(message.id);
    if (scrape === undefined) return;
    scrapes.delete(message.id);
    clearTimeout(scrape.timer);
    if (typeof message.text === "string") scrape.resolve(message.text);
    else scrape.reject(new Error(`the cluster primary could not aggregate the workers' metrics: ${message.error ?? "no answer"}`));
  }
}

/**
 * In a worker whose primary aggregates: answers the primary's requests for
 * this registry (with every other registered one) from now on. Returns the
 * function that stops it (the runtime's close). Elsewhere a no-op.
 */
export function shareWithPrimary(registry: Registry): () => void {
  if (!aggregatedByPrimary()) return () => undefined;
  if (registries.size === 0) process.on("message", onWorkerMessage);
  registries.add(registry);
  return () => {
    if (!registries.delete(registry) || registries.size > 0) return;
    process.off("message", onWorkerMessage);
  };
}

/** In a worker whose primary aggregates (a registry shared): the whole instance's exposition text, from the primary. */
export function scrapeFromPrimary(timeoutMs = SCRAPE_TIMEOUT_MS): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    if (registries.size === 0 || process.send === undefined) {
      reject(new Error("this process shares no metrics with a cluster primary"));
      return;
    }
    const id = nextScrape++;
    const timer = setTimeout(() => {
      scrapes.delete(id);
      reject(new Error(`the cluster primary did not answer a metrics scrape within ${timeoutMs} ms`));
    }, timeoutMs);
    scrapes.set(id, { resolve, reject, timer });
    process.send({ type: SCRAPE, id }, undefined, {}, (err: Error | null) => {
      if (err === null || !scrapes.delete(id)) return;
      clearTimeout(timer);
      reject(err);
    });
  });
}

// ---- primary side ------------------------------------------------------------

interface Collection {
  readonly waiting: Set<Worker>;
  readonly answers: object[][];
  readonly resolve: (answers: object[][]) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The primary's side: renders the aggregate of the workers `ready()` lists,
 * for its METRICS_PORT listener and for workers that ask. The primary routes
 * every worker message through `handle` and every worker exit through
 * `exited`.
 */
export class ClusterMetrics {
  readonly contentType = AggregatorRegistry.PROMETHEUS_CONTENT_TYPE;
  private readonly collections = new Map<number, Collection>();
  private nextId = 0;

  constructor(
    private readonly ready: () => readonly Worker[],
    private readonly options: { timeoutMs?: number; onError?: (err: unknown) => void } = {},
  ) {}

  /** The exposition text of every ready worker's metrics merged, with `rampart_cluster_workers` (how many were merged). */
  async render(): Promise<string> {
    const answers = await this.collect();
    const merged = AggregatorRegistry.aggregate(answers.flat());
    new Gauge({ name: "rampart_cluster_workers", help: "Worker processes whose metrics this scrape merged.", registers: [merged] }).set(answers.length);
    return merged.metrics();
  }

  /** Handles a worker's message when it is about metrics; returns whether it was. */
  handle(worker: Worker, message: unknown): boolean {
    if (!isMessage(message)) return false;
    if (message.type === COLLECTED) {
      const c = this.collections.get(message.id);
      if (c === undefined || !c.waiting.delete(worker)) return true;
      if (message.error !== undefined) {
        this.settle(message.id)?.reject(new Error(`worker ${worker.id} could not read its metrics: ${message.error}`));
        return true;
      }
      c.answers.push(message.metrics ?? []);
      if (c.waiting.size === 0) this.settle(message.id)?.resolve(c.answers);
      return true;
    }
    if (message.type === SCRAPE) {
      const { id } = message;
      const reply = (answer: { text: string } | { error: string }) => {
        if (worker.isConnected()) worker.send({ type: SCRAPED, id, ...answer });
      };
      this.render().then(
        (text) => reply({ text }),
        (err: unknown) => {
          this.options.onError?.(err);
          reply({ error: errorText(err) });
        },
      );
      return true;
    }
    return false;
  }

  /** A worker exited: collections waiting for it go on without it. */
  exited(worker: Worker): void {
    for (const [id, c] of this.collections) {
      if (c.waiting.delete(worker) && c.waiting.size === 0) this.settle(id)?.resolve(c.answers);
    }
  }

  private collect(): Promise<object[][]> {
    const workers = this.ready().filter((w) => w.isConnected());
    if (workers.length === 0) return Promise.reject(new Error("no worker is ready"));
    const id = this.nextId++;
    const timeoutMs = this.options.timeoutMs ?? COLLECT_TIMEOUT_MS;
    return new Promise<object[][]>((resolve, reject) => {
      const timer = setTimeout(() => {
        const late = [...(this.collections.get(id)?.waiting ?? [])].map((w) => w.id);
        this.settle(id)?.reject(new Error(`worker(s) ${late.join(", ")} did not send their metrics within ${timeoutMs} ms`));
      }, timeoutMs);
      this.collections.set(id, { waiting: new Set(workers), answers: [], resolve, reject, timer });
      for (const w of workers) w.send({ type: COLLECT, id });
    });
  }

  private settle(id: number): Collection | undefined {
    const c = this.collections.get(id);
    if (c === undefined) return undefined;
    this.collections.delete(id);
    clearTimeout(c.timer);
    return c;
  }
}
