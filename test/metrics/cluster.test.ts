/**
 * The cluster's metrics protocol (src/metrics/cluster.ts) between a real
 * node:cluster primary and its workers (test/metrics/fixtures/cluster-metrics.ts):
 * the primary sums the registries of the workers it lists as ready; a worker
 * that cannot read its registry, or does not answer in time, fails the scrape
 * (a partial sum would look like a counter reset), naming the worker; one
 * that exits mid-collection is left out; a worker gets the instance's
 * aggregate from the primary, or an error saying why not. Outside a cluster
 * worker, nothing is shared.
 */
import { Registry } from "prom-client";
import { beforeAll, describe, expect, it } from "vitest";
import { aggregatedByPrimary, ClusterMetrics, scrapeFromPrimary, shareWithPrimary } from "../../src/metrics/cluster.js";
import { spawnTs } from "../helpers/process.js";

interface Result {
  name: string;
  text?: string;
  error?: string;
  workerId?: number;
  onError?: string[];
  sharingListeners?: number;
  listenersAfterStop?: number;
}

/** The value of an unlabelled sample in an exposition text. */
function sample(text: string | undefined, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text ?? "");
  return m ? Number(m[1]) : undefined;
}

describe("cluster metrics over IPC", { timeout: 120_000 }, () => {
  const results = new Map<string, Result>();
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  let stderr = "";
  beforeAll(async () => {
    const p = spawnTs("test/metrics/fixtures/cluster-metrics.ts", [], {});
    exit = await p.exit;
    stderr = p.stderr();
    for (const line of p.stdout().split("\n")) {
      if (!line.startsWith("RESULT ")) continue;
      const r = JSON.parse(line.slice("RESULT ".length)) as Result;
      results.set(r.name, r);
    }
  }, 120_000);
  const result = (name: string) => {
    const r = results.get(name);
    expect(r, `${name} (stderr: ${stderr})`).toBeDefined();
    return r!;
  };

  it("ran every step and exited cleanly", () => {
    expect(exit, stderr).toEqual({ code: 0, signal: null });
    expect(result("done")).toEqual({ name: "done" });
  });

  it("with no worker ready, a scrape fails", () => {
    expect(result("none-ready")).toEqual({ name: "none-ready", error: "no worker is ready" });
  });

  it("sums the ready workers' counters and says how many it merged", () => {
    const r = result("two-workers");
    expect(r.error).toBeUndefined();
    expect(sample(r.text, "fixture_requests_total")).toBe(3 + 4);
    expect(sample(r.text, "rampart_cluster_workers")).toBe(2);
  });

  it("fails the scrape, naming the worker, when one cannot read its registry", () => {
    const r = result("broken");
    expect(r.text).toBeUndefined();
    expect(r.error).toBe(`worker ${r.workerId} could not read its metrics: sensor offline`);
  });

  it("fails the scrape, naming the worker, when one does not answer in time", () => {
    const r = result("silent");
    expect(r.text).toBeUndefined();
    expect(r.error).toBe(`worker(s) ${r.workerId} did not send their metrics within 1000 ms`);
  });

  it("leaves out a worker that exits before it answers", () => {
    const r = result("exits-mid-collection");
    expect(r.error).toBeUndefined();
    expect(sample(r.text, "fixture_requests_total")).toBe(3 + 4);
    expect(sample(r.text, "rampart_cluster_workers")).toBe(2);
  });

  it("a worker gets the instance's aggregate from the primary, and the primary's error when it fails", () => {
    const ok = result("worker-scrape");
    expect(sample(ok.text, "fixture_requests_total")).toBe(3 + 4 + 5);
    expect(sample(ok.text, "rampart_cluster_workers")).toBe(3);
    const failed = result("worker-scrape-fails");
    expect(failed.text).toBeUndefined();
    expect(failed.error).toMatch(/^the cluster primary could not aggregate the workers' metrics: worker \d+ could not read its metrics: sensor offline$/);
    expect(failed.onError).toEqual([failed.error!.replace("the cluster primary could not aggregate the workers' metrics: ", "")]);
  });

  it("a worker's scrape fails when the primary does not answer in time", () => {
    expect(result("worker-scrape-unanswered")).toEqual({ name: "worker-scrape-unanswered", error: "the cluster primary did not answer a metrics scrape within 300 ms" });
  });

  it("a worker listens once however many registries it shares, and not at all once the last stops", () => {
    const r = result("sharing");
    expect(r.sharingListeners).toBe(1);
    expect(r.listenersAfterStop).toBe(0);
    expect(r.error).toBe("this process shares no metrics with a cluster primary");
  });
});

describe("outside a cluster worker", () => {
  it("shares nothing: sharing is a no-op and a scrape from the primary is refused", async () => {
    expect(aggregatedByPrimary()).toBe(false);
    const listeners = process.listenerCount("message");
    const stop = shareWithPrimary(new Registry());
    expect(process.listenerCount("message")).toBe(listeners);
    stop();
    await expect(scrapeFromPrimary(50)).rejects.toThrow("this process shares no metrics with a cluster primary");
  });

  it("the primary's side ignores messages that are not about metrics", () => {
    const metrics = new ClusterMetrics(() => []);
    const worker = {} as Parameters<ClusterMetrics["handle"]>[0];
    expect(metrics.handle(worker, "hello")).toBe(false);
    expect(metrics.handle(worker, null)).toBe(false);
    expect(metrics.handle(worker, { type: "rampart:metrics-collected" })).toBe(false);
    expect(metrics.handle(worker, { type: "app:ping", id: 1 })).toBe(false);
    // An answer to a collection that is over (or never was) is a metrics message, and dropped.
    expect(metrics.handle(worker, { type: "rampart:metrics-collected", id: 41, metrics: [] })).toBe(true);
  });
});
