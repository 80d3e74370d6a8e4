import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isRampartError } from "../../src/errors/index.js";
import { createUpstream, UpstreamError, UpstreamRegistry, type UpstreamOptions } from "../../src/resilience/index.js";
import { LogCapture } from "../helpers/logs.js";
import { FlakyServer, getText, HttpStatusError } from "./flaky-server.js";
import { failure, sleep } from "../helpers/async.js";

let server: FlakyServer;
beforeAll(async () => {
  server = await FlakyServer.start();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

/** The kind of an unavailability raised by the resilience layer, or null for any other error. */
function unavailableKind(err: unknown): string | null {
  if (!isRampartError(err) || err.code !== "SERVICE_UNAVAILABLE") return null;
  return err.cause instanceof UpstreamError ? err.cause.kind : null;
}

function upstream(options: Partial<UpstreamOptions> = {}, logs = new LogCapture()) {
  return createUpstream("billing-api", { timeoutMs: 1_000, retries: 0, breaker: false, backoff: { initialDelayMs: 10, maxDelayMs: 50 }, log: pino(logs), ...options });
}

describe("timeout", () => {
  it("cuts a hanging upstream off at the deadline and aborts the request on the wire", async () => {
    server.mode = "hang";
    const u = upstream({ timeoutMs: 200 });
    const started = performance.now();
    const err = await failure(u.execute(getText(server.url), { idempotent: false }));
    const elapsed = performance.now() - started;
    expect(unavailableKind(err)).toBe("timeout");
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1_000);
    expect(await server.abandonedAtLeast(1)).toBe(1);
    expect(u.stats()).toMatchObject({ calls: 1, failures: 1, timeouts: 1 });
  });

  it("a caller's abort is passed through as the caller's, not as an unavailable upstream", async () => {
    server.mode = "hang";
    const u = upstream({ timeoutMs: 5_000 });
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 50);
    const err = await failure(u.execute(getText(server.url), { idempotent: true, signal: ctrl.signal }));
    expect(unavailableKind(err)).toBeNull();
    expect(server.hits).toBe(1);
  });
});

describe("retries", () => {
  it("retries an idempotent call through a 500 and a connection reset until the upstream answers", async () => {
    server.plan.push(500, "reset");
    const u = upstream({ retries: 2 });
    expect(JSON.parse(await u.execute(getText(server.url), { idempotent: true }))).toEqual({ hit: 3 });
    expect(server.hits).toBe(3);
    expect(u.stats()).toMatchObject({ calls: 1, successes: 1, failures: 0, retries: 2 });
  });

  it("retries a timed-out idempotent attempt", async () => {
    server.plan.push("hang");
    const u = upstream({ retries: 1, timeoutMs: 150 });
    expect(JSON.parse(await u.execute(getText(server.url), { idempotent: true }))).toEqual({ hit: 2 });
    expect(u.stats()).toMatchObject({ retries: 1, timeouts: 1, successes: 1 });
  });

  it("never retries a non-idempotent call, and passes the upstream's error on", async () => {
    server.plan.push(500);
    const u = upstream({ retries: 3 });
    const err = await failure(u.execute(getText(server.url), { idempotent: false }));
    expect(err).toBeInstanceOf(HttpStatusError);
    expect(server.hits).toBe(1);
    expect(u.stats().retries).toBe(0);
  });

  it("gives up after the configured retries with the last error", async () => {
    server.mode = 503;
    const u = upstream({ retries: 2 });
    const err = await failure(u.execute(getText(server.url), { idempotent: true }));
    expect((err as HttpStatusError).status).toBe(503);
    expect(server.hits).toBe(3);
  });

  it("an error isFailure rejects (a 404 answer) is neither retried nor counted by the breaker", async () => {
    server.mode = 404;
    const u = upstream({ retries: 3, breaker: { kind: "consecutive", failures: 2, halfOpenAfterMs: 60_000 }, isFailure: (e) => !(e instanceof HttpStatusError) || e.status >= 500 });
    for (let i = 0; i < 4; i++) expect((await failure(u.execute(getText(server.url), { idempotent: true })) as HttpStatusError).status).toBe(404);
    expect(server.hits).toBe(4);
    expect(u.breakerState).toBe("closed");
  });
});

describe("circuit breaker", () => {
  const breaker = { kind: "consecutive", failures: 3, halfOpenAfterMs: 300 } as const;

  it("opens after consecutive failures, refuses without calling, half-opens after the cooldown and closes on recovery", async () => {
    const logs = new LogCapture();
    const u = upstream({ breaker }, logs);
    server.mode = 500;
    for (let i = 0; i < 3; i++) await failure(u.execute(getText(server.url), { idempotent: false }));
    expect(u.breakerState).toBe("open");
    const started = performance.now();
    expect(unavailableKind(await failure(u.execute(getText(server.url), { idempotent: false })))).toBe("breaker_open");
    expect(performance.now() - started).toBeLessThan(50);
    expect(server.hits).toBe(3);

    server.mode = "ok";
    await sleep(350);
    expect(JSON.parse(await u.execute(getText(server.url), { idempotent: false }))).toEqual({ hit: 4 });
    expect(u.breakerState).toBe("closed");
    expect(u.stats()).toMatchObject({ breakerOpens: 1, rejections: { breakerOpen: 1, bulkheadFull: 0 }, breaker: "closed" });
    const messages = logs.records().filter((r) => r.upstream === "billing-api").map((r) => r.msg);
    expect(messages).toEqual(["upstream circuit opened", "upstream circuit half-open: trying one call", "upstream circuit closed"]);
  });

  it("a failing trial call in half-open opens it again", async () => {
    const u = upstream({ breaker });
    server.mode = "reset";
    for (let i = 0; i < 3; i++) await failure(u.execute(getText(server.url), { idempotent: false }));
    await sleep(350);
    await failure(u.execute(getText(server.url), { idempotent: false }));
    expect(server.hits).toBe(4);
    expect(u.breakerState).toBe("open");
    expect(unavailableKind(await failure(u.execute(getText(server.url), { idempotent: false })))).toBe("breaker_open");
    expect(u.stats().breakerOpens).toBe(2);
  });

  it("timeouts count as failures even when isFailure only accepts 5xx answers (cockatiel 3.2 isTaskCancelledError never matches)", async () => {
    server.mode = "hang";
    const u = upstream({ timeoutMs: 100, breaker: { kind: "consecutive", failures: 2, halfOpenAfterMs: 60_000 }, isFailure: (e) => e instanceof HttpStatusError && e.status >= 500 });
    for (let i = 0; i < 2; i++) expect(unavailableKind(await failure(u.execute(getText(server.url), { idempotent: false })))).toBe("timeout");
    expect(u.breakerState).toBe("open");
  });

  it("retries stop as soon as the breaker opens", async () => {
    server.mode = 500;
    const u = upstream({ retries: 5, breaker: { kind: "consecutive", failures: 2, halfOpenAfterMs: 60_000 } });
    expect(unavailableKind(await failure(u.execute(getText(server.url), { idempotent: true })))).toBe("breaker_open");
    expect(server.hits).toBe(2);
  });

  it("a sampling breaker opens when the failure ratio in its window passes the threshold", async () => {
    server.mode = 500;
    const u = upstream({ breaker: { kind: "sampling", threshold: 0.5, windowMs: 1_000, minimumRps: 1, halfOpenAfterMs: 60_000 } });
    for (let i = 0; i < 20 && u.breakerState === "closed"; i++) await failure(u.execute(getText(server.url), { idempotent: false }));
    expect(u.breakerState).toBe("open");
  });

  it("isolate holds it open until released", async () => {
    const u = upstream({ breaker });
    const handle = u.isolate();
    expect(unavailableKind(await failure(u.execute(getText(server.url), { idempotent: true })))).toBe("breaker_open");
    handle.dispose();
    await u.execute(getText(server.url), { idempotent: true });
    expect(server.hits).toBe(1);
  });
});

describe("bulkhead", () => {
  it("runs maxConcurrent calls, queues maxQueue more and refuses the rest at once", async () => {
    server.mode = "hang";
    const u = upstream({ timeoutMs: 5_000, bulkhead: { maxConcurrent: 2, maxQueue: 1 } });
    const running = [0, 1, 2].map(() => u.execute(getText(server.url), { idempotent: false }));
    for (let i = 0; i < 50 && server.hits < 2; i++) await sleep(10);
    expect(u.stats()).toMatchObject({ inFlight: 2, queued: 1 });
    const started = performance.now();
    expect(unavailableKind(await failure(u.execute(getText(server.url), { idempotent: false })))).toBe("bulkhead_full");
    expect(performance.now() - started).toBeLessThan(50);
    expect(server.hits).toBe(2);

    server.mode = "ok";
    server.release();
    const results = await Promise.all(running);
    expect(results).toHaveLength(3);
    expect(server.hits).toBe(3);
    expect(u.stats()).toMatchObject({ inFlight: 0, queued: 0, rejections: { bulkheadFull: 1, breakerOpen: 0 }, successes: 3, failures: 1 });
  });
});

describe("stats and options", () => {
  it("records the duration of every call in cumulative buckets", async () => {
    const u = upstream();
    for (let i = 0; i < 3; i++) await u.execute(getText(server.url), { idempotent: true });
    server.mode = "hang";
    await failure(upstream().execute(getText(server.url), { idempotent: false, signal: AbortSignal.timeout(10) }));
    const { latency, calls } = u.stats();
    expect(latency.count).toBe(calls);
    expect(latency.buckets.at(-1)).toEqual({ le: Number.POSITIVE_INFINITY, count: 3 });
    expect(latency.buckets.map((b) => b.count)).toEqual([...latency.buckets.map((b) => b.count)].sort((a, b) => a - b));
    expect(latency.maxMs).toBeGreaterThan(0);
    expect(latency.sumMs).toBeGreaterThanOrEqual(latency.maxMs);
  });

  it("refuses bad options, naming the upstream, the option and the value", () => {
    expect(() => createUpstream("kms", { timeoutMs: 0 })).toThrow("upstream 'kms': timeoutMs must be an integer >= 1, instead got 0");
    expect(() => createUpstream("kms", { timeoutMs: 100, breaker: { kind: "sampling", threshold: 2, windowMs: 1000, halfOpenAfterMs: 10 } })).toThrow(/breaker.threshold.*instead got 2/);
    expect(() => createUpstream("Bad Name", { timeoutMs: 100 })).toThrow(/instead got 'Bad Name'/);
  });

  it("a registry shares one upstream per name and lists their stats", () => {
    const registry = new UpstreamRegistry({ log: pino({ level: "silent" }) });
    const kms = registry.create("kms", { timeoutMs: 100 });
    registry.create("smtp", { timeoutMs: 100, breaker: false });
    expect(registry.get("kms")).toBe(kms);
    expect(() => registry.create("kms", { timeoutMs: 100 })).toThrow(/already registered/);
    expect(registry.stats().map((s) => [s.name, s.breaker])).toEqual([
      ["kms", "closed"],
      ["smtp", "disabled"],
    ]);
  });

  it("ensure returns the registered upstream (one breaker for every caller) and creates it on first use", () => {
    const registry = new UpstreamRegistry({ log: pino({ level: "silent" }) });
    const first = registry.ensure("webhooks.payments", { timeoutMs: 100 });
    expect(registry.ensure("webhooks.payments", { timeoutMs: 5_000 })).toBe(first);
    expect(registry.stats()).toHaveLength(1);
  });

  it("overrides replace part of an upstream's settings by name and keep the rest", async () => {
    server.mode = 503;
    const registry = new UpstreamRegistry({}, { "billing-api": { breaker: { kind: "consecutive", failures: 1, halfOpenAfterMs: 60_000 } } });
    const u = registry.create("billing-api", { timeoutMs: 1_000, retries: 0, isFailure: (err) => err instanceof HttpStatusError && err.status >= 500 });
    await failure(u.execute(getText(server.url), { idempotent: true }));
    // One failure opened it (the override), and the creator's isFailure still applied: a 503 counts.
    expect(u.breakerState).toBe("open");
    expect(unavailableKind(await failure(u.execute(getText(server.url), { idempotent: true })))).toBe("breaker_open");
    expect(server.hits).toBe(1);
  });
});
