/**
 * Outbound calls carry the request's trace (W3C Trace Context §3.2): the
 * request's trace id, a parent id of their own, and the caller's sampled flag,
 * so a downstream service (Vault, an app's upstream) logs the same trace.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { outboundTraceparent, runWithContext, traceHeaders } from "../../src/context/index.js";
import type { Runtime } from "../../src/runtime/index.js";
import { buildApp } from "../../src/server/app.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const FORMAT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

describe("outbound traceparent", () => {
  it("carries the request's trace id, a new parent id per call, and the sampled flag", () => {
    const [a, b] = runWithContext({ traceId: TRACE, sampled: true }, () => [outboundTraceparent(), outboundTraceparent()]);
    const ma = FORMAT.exec(a!)!;
    const mb = FORMAT.exec(b!)!;
    expect(ma[1]).toBe(TRACE);
    expect(ma[3]).toBe("01");
    expect(ma[2]).not.toBe(mb[2]);
    expect(ma[2]).not.toBe("0000000000000000");
    expect(runWithContext({ traceId: TRACE }, () => outboundTraceparent())).toMatch(/-00$/);
  });

  it("sends nothing outside a request, or when the trace id is not a W3C trace id (adopted from x-request-id)", () => {
    expect(outboundTraceparent()).toBeUndefined();
    expect(traceHeaders()).toEqual({});
    expect(runWithContext({ traceId: "req-42" }, () => traceHeaders())).toEqual({});
    expect(runWithContext({ traceId: "0".repeat(32) }, () => traceHeaders())).toEqual({});
  });
});

describe("a route's outbound call through the composed server", () => {
  let env: TestEnv;
  let runtime: Runtime;
  let app: FastifyInstance;
  let seen: IncomingHttpHeaders[] = [];
  const upstream = createServer((req, res) => {
    seen.push(req.headers);
    res.end("{}");
  });
  beforeAll(async () => {
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
    env = await createTestEnv("embedded");
    ({ runtime } = await createTestRuntime(env));
    app = await buildApp(runtime);
    // An app route calling its upstream with traceHeaders(), as docs/embedding.md shows.
    app.get("/relay", async () => {
      await fetch(url, { headers: traceHeaders() });
      return "ok";
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    await env?.cleanup();
    await new Promise((r) => upstream.close(r));
  });

  it("passes the caller's trace and sampled flag on; a request without traceparent starts a trace of its own", async () => {
    seen = [];
    const sampled = await app.inject({ method: "GET", url: "/relay", headers: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` } });
    expect(sampled.statusCode).toBe(200);
    expect(seen[0]!.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    expect(seen[0]!.traceparent).not.toContain("00f067aa0ba902b7");

    seen = [];
    const own = await app.inject({ method: "GET", url: "/relay" });
    const m = FORMAT.exec(String(seen[0]!.traceparent))!;
    expect(m[1]).toBe(own.headers["x-request-id"]);
    expect(m[3]).toBe("00");
  });
});
