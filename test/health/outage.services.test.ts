/**
 * Dependency outages: the server starts and keeps serving while Redis or
 * PostgreSQL is unreachable, readiness names the dependency (`warn` for a
 * shared one, `fail` once the instance cannot serve), and it recovers by
 * itself when the dependency is back. Outages are simulated with a proxy the
 * test controls, never by stopping the shared services.
 */
import { afterAll, describe, expect, it } from "vitest";
import { pollUntil } from "../helpers/async.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { ControlledProxy } from "../helpers/proxy.js";
import { serve, type RunningServer } from "../../src/server/serve.js";
import { loadConfig } from "../../src/config/index.js";
import { LogCapture } from "../helpers/logs.js";
import { productionSettings } from "../http/helpers.js";

async function ready(server: RunningServer): Promise<{ status: number; body: { status: string; checks: Record<string, { status: string; output?: string }[]> } }> {
  const res = await fetch(`${server.url}/health/ready`);
  return { status: res.status, body: (await res.json()) as never };
}


describe("outages", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("starts with Redis unreachable failing on `revocations` (never synced), then degrades within REVOCATION_STALE_MAX_MS when Redis is lost again", async () => {
    const env: TestEnv = await createTestEnv("postgres");
    cleanups.push(() => env.cleanup());
    const redis = new URL(env.env.REDIS_URL!);
    const proxy = await ControlledProxy.create({ host: redis.hostname, port: Number(redis.port || 6379) });
    cleanups.push(() => proxy.down());
    const config = loadConfig({ ...env.env, REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REVOCATION_STALE_MAX_MS: "3000" });
    const server = await serve(config, { runtime: { env: env.env, logDestination: new LogCapture() } });
    cleanups.push(() => server.shutdown());

    // Redis is shared (`kv` warns), but an instance that never read the revocation log cannot check tokens.
    const down = await ready(server);
    expect(down.status).toBe(503);
    expect(down.body.checks["kv:responseTime"]![0]!).toMatchObject({ status: "warn", output: expect.stringMatching(/^redis unreachable/) });
    expect(down.body.checks["revocations:responseTime"]![0]!.status).toBe("fail");
    expect(down.body.checks["database:responseTime"]![0]!.status).toBe("pass");
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);

    await proxy.up();
    const back = await pollUntil(() => ready(server), (r) => r.status === 200 && r.body.status === "pass");
    expect(back.body.status).toBe("pass");

    // Lost again, without traffic: warn (200) while the copy is within its bound, then fail (503).
    await proxy.down();
    const degraded = await pollUntil(() => ready(server), (r) => r.body.checks["revocations:responseTime"]![0]!.status !== "pass", 2_500);
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe("warn");
    expect(degraded.body.checks["revocations:responseTime"]![0]!.status).toBe("warn");
    const closed = await pollUntil(() => ready(server), (r) => r.status === 503);
    expect(closed.body.checks["revocations:responseTime"]![0]!.status).toBe("fail");
    expect(closed.body.checks["kv:responseTime"]![0]!.status).toBe("warn");
    await proxy.up();
    expect((await pollUntil(() => ready(server), (r) => r.status === 200 && r.body.status === "pass")).body.status).toBe("pass");
  });

  it("answers 200 `warn` naming postgresql while PostgreSQL is unreachable (shared: routes answer 503 themselves), then recovers", async () => {
    const env: TestEnv = await createTestEnv("postgres");
    cleanups.push(() => env.cleanup());
    const dbUrl = new URL(env.env.DATABASE_URL!);
    const proxy = await ControlledProxy.create({ host: dbUrl.hostname, port: Number(dbUrl.port || 5432) });
    cleanups.push(() => proxy.down());
    await proxy.up();
    dbUrl.host = `127.0.0.1:${proxy.port}`;
    const config = loadConfig({ ...env.env, DATABASE_URL: dbUrl.toString(), HEALTH_CHECK_TIMEOUT_MS: "500" });
    const server = await serve(config, { runtime: { env: env.env, logDestination: new LogCapture() } });
    cleanups.push(() => server.shutdown());
    expect((await ready(server)).status).toBe(200);

    await proxy.down();
    const down = await pollUntil(() => ready(server), (r) => r.body.checks["database:responseTime"]![0]!.status !== "pass");
    expect(down.status).toBe(200);
    expect(down.body.status).toBe("warn");
    expect(down.body.checks["database:responseTime"]![0]).toMatchObject({ status: "warn", output: expect.stringMatching(/^postgresql (unreachable|timed out after \d+ ms); shared by every instance/) });
    expect(down.body.checks["kv:responseTime"]![0]!.status).toBe("pass");
    // The local KEK provider reads its key metadata from PostgreSQL: the same shared outage, not this instance's keys.
    expect(down.body.checks["kms:responseTime"]![0]).toMatchObject({ status: "warn", output: expect.stringMatching(/^postgresql /) });

    await proxy.up();
    expect((await pollUntil(() => ready(server), (r) => r.body.status === "pass")).body.status).toBe("pass");
  });
});

describe("schema policy in production", () => {
  it("refuses to start against PostgreSQL with pending migrations and names `rampart migrate`", async () => {
    const env = await createTestEnv("postgres", {}, { schema: "empty" });
    try {
      // Settings production accepts (the preflight runs first), so the schema policy is what refuses.
      const prodEnv = { ...env.env, ...productionSettings() };
      const config = loadConfig(prodEnv);
      await expect(serve(config, { runtime: { env: prodEnv, logDestination: new LogCapture() } })).rejects.toThrow(/pending migration\(s\) \(0001-foundation.*run `rampart migrate` first/);
    } finally {
      await env.cleanup();
    }
  });
});
