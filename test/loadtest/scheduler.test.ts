/**
 * The open model under a stalled server: a local node:http server holds every
 * request that arrives during a 2-second window and answers them all at its
 * end. The scheduler must keep starting arrivals at the shape's rate during
 * the stall (not wait for answers, as a closed loop would), the latency of a
 * request due during the stall must include the time it waited, and an
 * arrival that finds the in-flight cap reached must be counted as dropped.
 * Assertions are on counts and recorded latencies, never on speed.
 */
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { HttpClient } from "../../src/loadtest/client.js";
import { Recorder, type Sample } from "../../src/loadtest/recorder.js";
import { IN_FLIGHT_CAP, startOpenModel, type Arrival } from "../../src/loadtest/scheduler.js";
import { expectedArrivals, phasesOf, type Shape } from "../../src/loadtest/shape.js";

const STALL_FROM = 500;
const STALL_UNTIL = 2500;

/** A server that holds requests received in [STALL_FROM, STALL_UNTIL) ms after `t0` until STALL_UNTIL. */
async function stallingServer(t0: () => number) {
  const held: http.ServerResponse[] = [];
  const stats = { received: 0, heldAtRelease: 0, releasedAt: 0, maxHeld: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    stats.received++;
    const now = performance.now() - t0();
    if (now >= STALL_FROM && now < STALL_UNTIL) {
      held.push(res);
      stats.maxHeld = Math.max(stats.maxHeld, held.length);
      if (held.length === 1) {
        setTimeout(() => {
          stats.releasedAt = performance.now();
          stats.heldAtRelease = held.length;
          for (const r of held.splice(0)) r.end("{}");
        }, STALL_UNTIL - now);
      }
      return;
    }
    res.end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  return { url, stats, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

const shape: Shape = { segments: [{ name: "steady", durationMs: 3000, from: 100, to: 100 }] };

async function run(maxInFlight: number) {
  let startedAt = 0;
  const server = await stallingServer(() => startedAt);
  const client = new HttpClient(server.url, { timeoutMs: 10_000 });
  const samples: Sample[] = [];
  const dropped: Arrival[] = [];
  startedAt = performance.now();
  const recorder = new Recorder({ startedAt, phases: phasesOf(shape), endpoints: ["hello"], onSample: (s) => samples.push(s) });
  const model = startOpenModel({
    shape,
    maxInFlight,
    startedAt,
    onScheduled: (a) => recorder.scheduled(a.scheduledAt),
    onDropped: (a) => {
      dropped.push(a);
      recorder.dropped(a.scheduledAt);
    },
    onArrival: (arrival) => ({
      run: async () => {
        recorder.started(arrival.scheduledAt);
        const sentAt = performance.now();
        const res = await client.request({ method: "GET", path: "/" });
        recorder.record({ endpoint: "hello", scheduledAt: arrival.scheduledAt, sentAt, endedAt: performance.now(), status: res.status, outcome: "ok" });
      },
    }),
  });
  const counts = await model.done;
  recorder.finish(performance.now());
  client.close();
  cleanups.push(server.close);
  return { counts, samples, dropped, stats: server.stats, startedAt, recorder };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("open-model scheduler against a stalled server", () => {
  it("keeps scheduling at the rate during the stall, and latency includes the wait", async () => {
    const { counts, samples, stats, startedAt, recorder } = await run(1000);
    // Exactly the shape's arrivals, all started, none dropped: the stall changed nothing upstream.
    expect(counts.scheduled).toBe(expectedArrivals(shape));
    expect(counts.scheduled).toBe(300);
    expect(counts.started).toBe(300);
    expect(counts.dropped).toEqual({});
    expect(samples).toHaveLength(300);
    // Arrivals kept being sent while nothing was answered: those due well before the release were all held.
    const due = (s: { scheduledAt: number }) => Math.round(s.scheduledAt - startedAt);
    const dueDuringStall = samples.filter((s) => due(s) >= STALL_FROM && due(s) < STALL_UNTIL - 200).length;
    expect(dueDuringStall).toBe(180);
    expect(stats.heldAtRelease).toBeGreaterThanOrEqual(dueDuringStall);
    // Every request due before the release waited for it, and its latency says so.
    const waited = samples.filter((s) => s.scheduledAt < stats.releasedAt && due(s) >= STALL_FROM);
    expect(waited.length).toBeGreaterThanOrEqual(dueDuringStall);
    for (const s of waited) expect(s.endedAt - s.scheduledAt).toBeGreaterThanOrEqual(stats.releasedAt - s.scheduledAt);
    // The histogram holds those waits: the request due first in the stall waited about 2 s.
    const first = waited.reduce((a, b) => (a.scheduledAt < b.scheduledAt ? a : b));
    expect(recorder.endpointStats().hello!.latencyMs.max).toBeGreaterThanOrEqual(Math.floor(stats.releasedAt - first.scheduledAt));
    // The per-second timeline counts every arrival by its due second.
    expect(recorder.timeline().reduce((a, s) => a + s.scheduled, 0)).toBe(300);
  });

  it("counts the arrivals that find the in-flight cap reached as dropped, never skipping them", async () => {
    const { counts, samples, dropped, stats, startedAt, recorder } = await run(50);
    expect(counts.scheduled).toBe(300);
    expect(counts.started + (counts.dropped[IN_FLIGHT_CAP] ?? 0)).toBe(300);
    expect(counts.dropped[IN_FLIGHT_CAP]).toBeGreaterThan(0);
    expect(dropped).toHaveLength(counts.dropped[IN_FLIGHT_CAP]!);
    expect(samples).toHaveLength(counts.started);
    expect(recorder.timeline().reduce((a, s) => a + s.dropped, 0)).toBe(dropped.length);
    // Never more than the cap in flight; the drops are the arrivals due while the cap was full.
    expect(stats.maxHeld).toBeLessThanOrEqual(50);
    // The ones that did start during the stall still carry their wait.
    const waited = samples.filter((s) => s.scheduledAt < stats.releasedAt && Math.round(s.scheduledAt - startedAt) >= STALL_FROM);
    // The cap is full from the stall until the held answers come back, and only then.
    const capFreed = Math.max(...waited.map((s) => s.endedAt));
    for (const a of dropped) {
      expect(Math.round(a.scheduledAt - startedAt)).toBeGreaterThanOrEqual(STALL_FROM);
      expect(a.scheduledAt).toBeLessThanOrEqual(capFreed);
    }
    expect(waited.length).toBeGreaterThan(0);
    for (const s of waited) expect(s.endedAt - s.scheduledAt).toBeGreaterThanOrEqual(stats.releasedAt - s.scheduledAt);
  });
});
