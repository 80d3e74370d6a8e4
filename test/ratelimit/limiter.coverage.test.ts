/**
 * The RateLimiter's policy table as a host sees it: a name is defined once,
 * the very same policy may be defined again (a route registered on two apps
 * sharing one limiter) and then shares its bucket, and any difference in a
 * redefinition is refused naming the policy.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { definePolicy, inlinePolicyName, MemoryRateLimitStore, RateLimiter, type PolicyInput } from "../../src/ratelimit/index.js";
import { rateLimitPlugin } from "../../src/ratelimit/plugin.js";
import { errorsPlugin } from "../../src/server/plugins/errors.js";
import { requestContextPlugin } from "../../src/server/plugins/request-context.js";
import { systemClock } from "../../src/runtime/index.js";

const base: PolicyInput = { name: "notes", limit: 5, windowMs: 60_000, burst: 5, by: "ip" };
const limiterOf = (...policies: PolicyInput[]) =>
  new RateLimiter({ store: new MemoryRateLimitStore({ clock: systemClock }), policies: [definePolicy({ name: "default", limit: 60, windowMs: 60_000 }), ...policies.map(definePolicy)] });

describe("RateLimiter policy table", () => {
  it("refuses two policies of one name at construction, naming it", () => {
    expect(() => limiterOf(base, { ...base, limit: 6 })).toThrow(new RangeError("rate-limit policy 'notes' is defined twice"));
    expect(() => limiterOf(base, base)).toThrow(RangeError);
  });

  it("lists its policies and answers whether one exists, also after a definition", () => {
    const limiter = limiterOf(base);
    expect(limiter.policies.map((p) => p.name)).toEqual(["default", "notes"]);
    expect(limiter.has("notes")).toBe(true);
    expect(limiter.has("exports")).toBe(false);
    limiter.define(definePolicy({ ...base, name: "exports" }));
    expect(limiter.has("exports")).toBe(true);
    expect(limiter.policies.map((p) => p.name)).toEqual(["default", "notes", "exports"]);
    expect(limiter.stats()).toEqual({ default: { allowed: 0, denied: 0 }, notes: { allowed: 0, denied: 0 }, exports: { allowed: 0, denied: 0 } });
  });

  it("accepts the very same policy again and keeps the first one", async () => {
    const limiter = limiterOf(base);
    const first = limiter.policy("notes");
    limiter.define(definePolicy({ ...base }));
    expect(limiter.policy("notes")).toBe(first);
    expect(limiter.policies).toHaveLength(2);
    for (let i = 0; i < 5; i++) expect((await limiter.consume("notes", "ip:192.0.2.1")).decision.allowed).toBe(true);
    expect((await limiter.consume("notes", "ip:192.0.2.1")).decision.allowed).toBe(false);
    expect(limiter.stats().notes).toEqual({ allowed: 5, denied: 1 });
  });

  it.each<[string, Partial<PolicyInput>]>([
    ["limit", { limit: 6, burst: 5 }],
    ["window", { windowMs: 30_000 }],
    ["burst", { burst: 4 }],
    ["key", { by: "principal" }],
  ])("refuses a redefinition with another %s and keeps the first", (_, change) => {
    const limiter = limiterOf(base);
    const first = limiter.policy("notes");
    expect(() => limiter.define(definePolicy({ ...base, ...change }))).toThrow(new RangeError("rate-limit policy 'notes' is defined twice"));
    expect(limiter.policy("notes")).toBe(first);
  });
});

describe("an inline route policy on apps sharing one limiter", () => {
  const apps: FastifyInstance[] = [];
  afterAll(async () => {
    for (const a of apps) await a.close();
  });

  async function appWith(limiter: RateLimiter, limit: number): Promise<FastifyInstance> {
    const app = Fastify();
    apps.push(app);
    await app.register(requestContextPlugin);
    await app.register(errorsPlugin);
    await app.register(rateLimitPlugin, { limiter });
    app.post("/checkout", { config: { rateLimit: { limit, windowMs: 60_000, by: "ip" } } }, async () => ({ ordered: true }));
    return app;
  }

  it("counts the route on both apps against one bucket", async () => {
    const limiter = limiterOf();
    const [a, b] = [await appWith(limiter, 2), await appWith(limiter, 2)];
    await Promise.all([a.ready(), b.ready()]);
    const post = (app: FastifyInstance) => app.inject({ method: "POST", url: "/checkout", remoteAddress: "198.51.100.7" });
    expect((await post(a)).statusCode).toBe(200);
    expect((await post(b)).statusCode).toBe(200);
    const refused = await post(a);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: "RATE_LIMITED" });
    expect(limiter.stats()[inlinePolicyName("POST", "/checkout")]).toEqual({ allowed: 2, denied: 1 });
  });

  it("fails the start of the app whose route declares the same route with another limit", async () => {
    const limiter = limiterOf();
    await (await appWith(limiter, 2)).ready();
    const other = await appWith(limiter, 3).catch((err: unknown) => err);
    const failure = other instanceof Error ? other : await (other as FastifyInstance).ready().then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(RangeError);
    expect((failure as Error).message).toBe(`inline rate-limit policy of POST /checkout: rate-limit policy '${inlinePolicyName("POST", "/checkout")}' is defined twice`);
    expect(limiter.policy(inlinePolicyName("POST", "/checkout")).limit).toBe(2);
  });
});
