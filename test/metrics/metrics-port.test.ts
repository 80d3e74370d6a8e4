/**
 * METRICS_PORT: `rampart serve` exposes /metrics on a separate listener bound
 * to 127.0.0.1 without a token, and the public port no longer serves it.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { serve, type RunningServer } from "../../src/server/serve.js";
import { LogCapture } from "../helpers/logs.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { sample } from "./helpers.js";

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, contentType: res.headers["content-type"] }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe.each(testModes())("METRICS_PORT listener (%s)", (mode) => {
  let env: TestEnv | undefined;
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.shutdown();
    await env?.cleanup();
    server = undefined;
  });

  it("serves /metrics on 127.0.0.1 without a token, not on the main port, and closes it on shutdown", async () => {
    env = await createTestEnv(mode, { METRICS_PORT: "0" });
    server = await serve(env.config, { runtime: { env: env.env, logDestination: new LogCapture() } });
    const metricsUrl = server.metricsUrl!;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(server.url);

    expect((await get(`${server.url}/health/live`)).status).toBe(200);
    const res = await get(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(sample(res.body, "http_server_request_duration_seconds_count", { method: "GET", route: "/health/live", status_code: "200" })).toBe(1);
    expect(sample(res.body, "process_cpu_user_seconds_total")).toBeGreaterThan(0);

    // Only /metrics is served there; the public port has no such route, token or not.
    expect((await get(`${metricsUrl}/health/live`)).status).toBe(404);
    expect((await get(`${server.url}/metrics`)).status).toBe(404);

    await server.shutdown();
    await expect(get(`${metricsUrl}/metrics`)).rejects.toThrow(/ECONNREFUSED|ECONNRESET|socket hang up/);
  }, 120_000);

  it("is absent without METRICS_PORT", async () => {
    env = await createTestEnv(mode);
    server = await serve(env.config, { runtime: { env: env.env, logDestination: new LogCapture() } });
    expect(server.metricsUrl).toBeUndefined();
    const res = await get(`${server.url}/metrics`);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ success: false, code: "UNAUTHENTICATED" });
  }, 120_000);
});
