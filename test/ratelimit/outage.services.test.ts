/**
 * Redis outages under rate limiting: with the default (open) the server keeps
 * limiting with the in-process limiter, readiness reports the `ratelimit`
 * check as warn, and decisions go back to Redis when it returns; with
 * RATE_LIMIT_ON_STORE_ERROR=closed it answers 503. Redis is cut with a proxy
 * the test controls, never by stopping the shared service.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../helpers/async.js";
import { ControlledProxy } from "../helpers/proxy.js";
import { limitedApp, type LimitedApp } from "./helpers.js";

const redis = new URL(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");


async function withProxy(onStoreError: "open" | "closed"): Promise<{ t: LimitedApp; proxy: ControlledProxy }> {
  const proxy = await ControlledProxy.create({ host: redis.hostname, port: Number(redis.port || 6379) });
  await proxy.up();
  const t = await limitedApp("postgres", {
    env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, RATE_LIMIT_REQUESTS_PER_MINUTE: "3", RATE_LIMIT_ON_STORE_ERROR: onStoreError },
    routes: (app) => app.get("/test/hello", async () => ({})),
    // Readiness is polled below; probes must not eat the clients' budget (nor be refused).
    plugin: { skip: (r) => r.url.startsWith("/health/") },
  });
  // The kv client connects in the background: wait until Redis answers through the proxy.
  await pollUntil(() => t.runtime.kv.ping().then(() => true, () => false), Boolean);
  return { t, proxy };
}

const hello = (t: LimitedApp, ip: string) => t.app.inject({ method: "GET", url: "/test/hello", remoteAddress: ip });
const readiness = async (t: LimitedApp) => {
  const res = await t.app.inject({ method: "GET", url: "/health/ready" });
  return res.json() as { checks: Record<string, { status: string; output?: string }[]> };
};

describe("Redis outage, RATE_LIMIT_ON_STORE_ERROR=open", () => {
  let t: LimitedApp;
  let proxy: ControlledProxy;
  beforeAll(async () => ({ t, proxy } = await withProxy("open")));
  afterAll(async () => {
    await t.close();
    await proxy.down();
  });

  it("keeps limiting in process, reports warn, and returns to Redis when it is back", async () => {
    expect((await hello(t, "192.0.2.1")).headers["x-ratelimit-remaining"]).toBe("2");
    expect((await readiness(t)).checks["ratelimit:responseTime"]![0]!.status).toBe("pass");

    await proxy.down();
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await hello(t, "192.0.2.2")).statusCode);
    expect(codes).toEqual([200, 200, 200, 429]);
    const stats = t.rl.stats();
    expect(stats.failover).toMatchObject({ degraded: true, refused: 0 });
    expect(stats.failover!.storeErrors).toBeGreaterThanOrEqual(1);
    expect(stats.failover!.fallbackDecisions).toBeGreaterThanOrEqual(3);
    const down = await readiness(t);
    expect(down.checks["ratelimit:responseTime"]![0]).toMatchObject({ status: "warn", output: "rate limit store unreachable; limiting in process" });
    expect(t.logs.records().some((r) => r.msg === "rate limit store unreachable; limiting in process")).toBe(true);

    await proxy.up();
    const back = await pollUntil(() => readiness(t), (r) => r.checks["ratelimit:responseTime"]![0]!.status === "pass");
    expect(back.checks["ratelimit:responseTime"]![0]!.status).toBe("pass");
    // Decisions are Redis's again: the bucket of 192.0.2.1 kept its count there.
    expect(t.rl.stats().failover!.degraded).toBe(false);
    expect((await hello(t, "192.0.2.1")).headers["x-ratelimit-remaining"]).toBe("1");
  });
});

describe("Redis outage, RATE_LIMIT_ON_STORE_ERROR=closed", () => {
  let t: LimitedApp;
  let proxy: ControlledProxy;
  beforeAll(async () => ({ t, proxy } = await withProxy("closed")));
  afterAll(async () => {
    await t.close();
    await proxy.down();
  });

  it("refuses with 503 SERVICE_UNAVAILABLE while Redis is unreachable, and serves again after", async () => {
    expect((await hello(t, "192.0.2.3")).statusCode).toBe(200);
    await proxy.down();
    const res = await hello(t, "192.0.2.3");
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ success: false, code: "SERVICE_UNAVAILABLE" });
    expect(res.headers["retry-after"]).toBe("1");
    expect(t.rl.stats().failover!.refused).toBeGreaterThanOrEqual(1);

    await proxy.up();
    const ok = await pollUntil(() => hello(t, "192.0.2.3"), (r) => r.statusCode === 200);
    expect(ok.headers["x-ratelimit-remaining"]).toBe("1");
  });
});
