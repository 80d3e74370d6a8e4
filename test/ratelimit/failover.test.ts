import pino from "pino";
import { describe, expect, it } from "vitest";
import { isRampartError } from "../../src/errors/index.js";
import { definePolicy, FailoverRateLimitStore, MemoryRateLimitStore, type RateLimitStore } from "../../src/ratelimit/index.js";
import { ManualClock } from "../../src/runtime/index.js";
import { LogCapture } from "../helpers/logs.js";

/** A primary store that can be switched off, like Redis behind a proxy. */
function switchable(clock: ManualClock): RateLimitStore & { up: boolean; calls: number } {
  const inner = new MemoryRateLimitStore({ clock });
  const s = {
    kind: "redis" as const,
    up: true,
    calls: 0,
    async consume(...args: Parameters<RateLimitStore["consume"]>) {
      s.calls++;
      if (!s.up) throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
      return inner.consume(...args);
    },
    async ping() {
      if (!s.up) throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
    },
    close: () => inner.close(),
  };
  return s;
}

function setup(onStoreError: "open" | "closed") {
  const clock = new ManualClock();
  const primary = switchable(clock);
  const fallback = new MemoryRateLimitStore({ clock });
  const logs = new LogCapture();
  const store = new FailoverRateLimitStore({ primary, fallback, onStoreError, clock, log: pino(logs), retryAfterMs: 1_000 });
  return { clock, primary, fallback, logs, store };
}

const policy = definePolicy({ name: "default", limit: 3, windowMs: 60_000 });

describe("failover store, open (fail soft)", () => {
  it("limits in process while the primary is down, reports warn, and recovers", async () => {
    const { clock, primary, logs, store } = setup("open");
    const probe = store.healthCheck();
    expect(await probe.probe()).toEqual({ status: "pass" });
    primary.up = false;
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push((await store.consume("client", policy)).allowed);
    // Still limited, by the in-process buckets.
    expect(decisions).toEqual([true, true, true, false]);
    expect(store.stats()).toMatchObject({ degraded: true, storeErrors: 1, fallbackDecisions: 4, refused: 0 });
    expect(await probe.probe()).toEqual({ status: "warn", output: "rate limit store unreachable; limiting in process" });
    expect(logs.records().filter((r) => r.msg === "rate limit store unreachable; limiting in process")).toHaveLength(1);

    primary.up = true;
    // Within the retry interval the primary is left alone...
    const callsBefore = primary.calls;
    await store.consume("other", policy);
    expect(primary.calls).toBe(callsBefore);
    // ...after it, one request probes it and decisions move back.
    clock.advance(1_000);
    expect((await store.consume("client", policy)).remaining).toBe(2);
    expect(store.stats().degraded).toBe(false);
    expect(await probe.probe()).toEqual({ status: "pass" });
    expect(logs.records().some((r) => r.msg === "rate limit store recovered")).toBe(true);
  });

  it("the readiness probe clears the degraded state once the primary answers, without traffic", async () => {
    const { primary, store } = setup("open");
    primary.up = false;
    await store.consume("client", policy);
    expect((await store.healthCheck().probe())?.status).toBe("warn");
    primary.up = true;
    expect(await store.healthCheck().probe()).toEqual({ status: "pass" });
    expect(store.stats().degraded).toBe(false);
  });

  it("a bad cost is the caller's error, not an outage", async () => {
    const { store } = setup("open");
    await expect(store.consume("client", policy, 0)).rejects.toThrow(RangeError);
    expect(store.stats()).toMatchObject({ degraded: false, storeErrors: 0 });
  });
});

describe("failover store, closed", () => {
  it("refuses with SERVICE_UNAVAILABLE and Retry-After while the primary is down", async () => {
    const { primary, store } = setup("closed");
    primary.up = false;
    const err = await store.consume("client", policy).catch((e: unknown) => e);
    expect(isRampartError(err) && err.code).toBe("SERVICE_UNAVAILABLE");
    expect(isRampartError(err) && err.headers?.["retry-after"]).toBe("1");
    expect(store.stats()).toMatchObject({ degraded: true, refused: 1, fallbackDecisions: 0 });
    expect(await store.healthCheck().probe()).toEqual({ status: "warn", output: "rate limit store unreachable; refusing requests" });
  });
});
