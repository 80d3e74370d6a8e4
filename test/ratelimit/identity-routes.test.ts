/**
 * Rate limiting composed with the identity routes as the server composes it
 * (auth plugin first, limiter after): login per IP whatever the email, the
 * password-forgot policy, and the default policy keyed by the principal the
 * auth plugin resolved from the bearer token.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limitedApp, sfItem, type LimitedApp } from "./helpers.js";

describe("rate limits on the identity routes", () => {
  let t: LimitedApp;
  beforeAll(async () => {
    t = await limitedApp("embedded", { env: { RATE_LIMIT_REQUESTS_PER_MINUTE: "3" } });
  });
  afterAll(() => t.close());

  const post = (url: string, ip: string, payload: object) => t.app.inject({ method: "POST", url, remoteAddress: ip, payload });

  it("login: 10 attempts per minute per IP, whichever emails are tried", async () => {
    const codes = [];
    for (let i = 0; i < 11; i++) codes.push((await post("/v1/auth/login", "192.0.2.10", { email: `nobody${i}@example.com`, password: "wrong-password-123" })).statusCode);
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(codes[10]).toBe(429);
  });

  it("password forgot: 5 per minute per IP, under the `forgot` policy", async () => {
    const res = [];
    for (let i = 0; i < 6; i++) res.push(await post("/v1/auth/password/forgot", "192.0.2.11", { email: `someone${i}@example.com` }));
    expect(res.map((r) => r.statusCode)).toEqual([202, 202, 202, 202, 202, 429]);
    expect(sfItem(res[0]!.headers["ratelimit-policy"] as string)).toEqual({ name: "forgot", params: { q: 5, w: 60 } });
  });

  it("the default policy follows the authenticated principal across IPs", async () => {
    const email = `rl-${randomBytes(4).toString("hex")}@example.com`;
    const password = "correct horse battery staple";
    expect((await post("/v1/auth/register", "192.0.2.12", { email, password })).statusCode).toBe(202);
    const login = await post("/v1/auth/login", "192.0.2.12", { email, password });
    const token = login.json().data.accessToken as string;
    const sessions = (ip: string, auth: boolean) => t.app.inject({ method: "GET", url: "/v1/auth/sessions", remoteAddress: ip, headers: auth ? { authorization: `Bearer ${token}` } : {} });
    for (let i = 0; i < 3; i++) expect((await sessions("192.0.2.13", true)).statusCode).toBe(200);
    expect((await sessions("192.0.2.13", true)).statusCode).toBe(429);
    expect((await sessions("192.0.2.14", true)).statusCode).toBe(429);
    // The same IP without the token is another client: its own bucket.
    expect((await sessions("192.0.2.13", false)).statusCode).toBe(401);
  });
});
