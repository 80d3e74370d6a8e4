/**
 * Graceful shutdown of a real server process: SIGTERM stops accepting new
 * connections, lets in-flight requests finish within SHUTDOWN_TIMEOUT_MS,
 * cuts what is left after it, closes pools and exits 0.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { spawnTs } from "../helpers/process.js";

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe.each(testModes())("graceful shutdown (%s)", (mode) => {
  let env: TestEnv | undefined;
  afterEach(async () => {
    await env?.cleanup();
  });

  it("finishes an in-flight request after SIGTERM, refuses new connections, exits 0", async () => {
    env = await createTestEnv(mode);
    const p = spawnTs("test/fixtures/serve-with-slow-route.ts", [], { ...env.env, SLOW_MS: "1500", SHUTDOWN_TIMEOUT_MS: "10000" });
    const url = (await p.waitFor(/URL (\S+)/))[1]!;
    const inflight = get(`${url}/slow`);
    await new Promise((r) => setTimeout(r, 300));
    p.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    await expect(get(`${url}/health/live`)).rejects.toThrow(/ECONNREFUSED|ECONNRESET|socket hang up/);
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ done: true });
    expect(await p.exit).toEqual({ code: 0, signal: null });
    expect(p.stdout()).toContain("shutting down");
  });

  it("a request whose client left still finishes its work before the database closes", async () => {
    env = await createTestEnv(mode);
    const p = spawnTs("test/fixtures/serve-with-slow-route.ts", [], { ...env.env, SLOW_MS: "1000", SHUTDOWN_TIMEOUT_MS: "10000" });
    const url = (await p.waitFor(/URL (\S+)/))[1]!;
    // The client gives up once the handler runs: the connection is gone, the handler is not.
    const req = request(`${url}/slow-db`, { agent: false });
    req.on("error", () => undefined);
    req.end();
    await p.waitFor(/slow-db started/);
    req.destroy();
    await new Promise((r) => setTimeout(r, 100));
    p.child.kill("SIGTERM");
    expect(await p.exit).toEqual({ code: 0, signal: null });
    expect(p.stdout()).toMatch(/slow-db read \d+ rows/);
    expect(p.stdout()).not.toContain('"level":"error"');
  });

  it("cuts requests still running at SHUTDOWN_TIMEOUT_MS and still exits 0", async () => {
    env = await createTestEnv(mode);
    const p = spawnTs("test/fixtures/serve-with-slow-route.ts", [], { ...env.env, SLOW_MS: "20000", SHUTDOWN_TIMEOUT_MS: "300" });
    const url = (await p.waitFor(/URL (\S+)/))[1]!;
    const inflight = get(`${url}/slow`).then(
      () => "answered",
      () => "cut",
    );
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    p.child.kill("SIGINT");
    expect(await p.exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await inflight).toBe("cut");
    expect(p.stdout()).toContain("shutdown timeout reached");
  });
});
