/**
 * Threat: a client evades its rate limit (credential stuffing on login, a
 * flood on any route) by changing what the limiter thinks its identity is:
 * spoofing `X-Forwarded-For` when no proxy is trusted, prepending forged
 * entries when one is, or rotating through the addresses of its own IPv6 /64.
 * Each attempt must land in the same bucket as the client's honest requests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limitedApp, type LimitedApp } from "./helpers.js";

const ENV = { RATE_LIMIT_REQUESTS_PER_MINUTE: "3" };
const routes = (app: LimitedApp["app"]) => app.get("/test/hello", async () => ({}));

describe("without TRUST_PROXY", () => {
  let t: LimitedApp;
  beforeAll(async () => {
    t = await limitedApp("embedded", { env: { ...ENV, TRUST_PROXY: "false" }, routes });
  });
  afterAll(() => t.close());

  it("ignores X-Forwarded-For: a new forged address per request does not buy a new bucket", async () => {
    const codes = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({ method: "GET", url: "/test/hello", remoteAddress: "203.0.113.10", headers: { "x-forwarded-for": `10.0.0.${i}` } });
      codes.push(res.statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
  });

  it("rotating addresses inside one IPv6 /64 shares one bucket; another /64 is another client", async () => {
    const codes = [];
    for (let i = 1; i <= 5; i++) codes.push((await t.app.inject({ method: "GET", url: "/test/hello", remoteAddress: `2001:db8:aa:1::${i.toString(16)}` })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    expect((await t.app.inject({ method: "GET", url: "/test/hello", remoteAddress: "2001:db8:aa:2::1" })).statusCode).toBe(200);
  });

  it("an IPv4 client seen through a dual-stack socket (::ffff:a.b.c.d) is the same client", async () => {
    for (let i = 0; i < 3; i++) await t.app.inject({ method: "GET", url: "/test/hello", remoteAddress: "203.0.113.20" });
    expect((await t.app.inject({ method: "GET", url: "/test/hello", remoteAddress: "::ffff:203.0.113.20" })).statusCode).toBe(429);
  });
});

describe("with TRUST_PROXY naming the proxy", () => {
  let t: LimitedApp;
  beforeAll(async () => {
    // The proxy is the socket peer (inject's default remote address).
    t = await limitedApp("embedded", { env: { ...ENV, TRUST_PROXY: "127.0.0.1" }, routes });
  });
  afterAll(() => t.close());

  const via = (xff: string) => t.app.inject({ method: "GET", url: "/test/hello", remoteAddress: "127.0.0.1", headers: { "x-forwarded-for": xff } });

  it("keys each client by the address the proxy appended, so clients behind it are told apart", async () => {
    for (let i = 0; i < 3; i++) expect((await via("192.0.2.50")).statusCode).toBe(200);
    expect((await via("192.0.2.50")).statusCode).toBe(429);
    expect((await via("192.0.2.51")).statusCode).toBe(200);
  });

  it("reads X-Forwarded-For right to left: entries the client prepends do not change its key", async () => {
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await via(`10.9.9.${i}, 192.0.2.60`)).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
  });

  it("a request straight from an untrusted peer is keyed by that peer, whatever it forwards", async () => {
    const codes = [];
    for (let i = 0; i < 4; i++) {
      codes.push((await t.app.inject({ method: "GET", url: "/test/hello", remoteAddress: "198.51.100.70", headers: { "x-forwarded-for": `192.0.2.${100 + i}` } })).statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429]);
  });
});
