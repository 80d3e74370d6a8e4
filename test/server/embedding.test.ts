/**
 * The `rampart` plugin on a host app's own, bare Fastify instance: only the
 * enabled route groups, host routes guarded and enveloped with the plugin's
 * trace id and security headers, runtime ownership at close, and the
 * lower-level plugins taken alone with their declared dependencies.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  authPlugin,
  errorsPlugin,
  guard,
  ok,
  rampart,
  RampartError,
  RateLimiter,
  rateLimitPlugin,
  requestContextPlugin,
  systemClock,
  type Runtime,
} from "../../src/index.js";
import { definePolicy, MemoryRateLimitStore } from "../../src/ratelimit/index.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestEnv, stubSecretsEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE}-00f067aa0ba902b7-01`;

describe.each(testModes())("rampart plugin on a host app (%s)", (mode) => {
  const opened: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of opened.splice(0).reverse()) await fn();
  });

  describe("with a runtime the app built", () => {
    let env: TestEnv;
    let runtime: Runtime;
    let app: FastifyInstance;
    beforeAll(async () => {
      env = await createTestEnv(mode);
      ({ runtime } = await createTestRuntime(env));
      app = Fastify();
      await app.register(rampart, { runtime, routes: { identity: true, apiKeys: false, files: false } });
      app.get("/notes", { preHandler: app.rampart.guard("me:read") }, async (request) => ok(request, { owner: request.principal?.userId, trace: request.ctx.traceId }));
      app.get("/staff", { preHandler: app.rampart.guard("users:read") }, async (request) => ok(request, { seen: true }));
      await app.ready();
    });
    afterAll(async () => {
      await app.close();
      await runtime.close();
      await env.cleanup();
    });

    it("serves the identity routes: register, login, GET /v1/me", async () => {
      const user = await registerAndLogin(app);
      const me = await call(app, { method: "GET", url: "/v1/me", token: user.accessToken });
      expect(me.statusCode).toBe(200);
      expect(me.data.user.id).toBe(user.userId);
      const jwks = await call(app, { method: "GET", url: "/.well-known/jwks.json" });
      expect(jwks.statusCode).toBe(200);
    });

    it.each([
      ["GET", "/v1/api-keys"],
      ["GET", "/v1/admin/users"],
      ["GET", "/v1/admin/audit"],
      ["GET", "/v1/files"],
      ["GET", "/v1/me/export"],
      ["GET", "/v1/me/usage"],
      ["GET", "/v1/admin/webhooks"],
      ["GET", "/openapi.json"],
      ["GET", "/docs"],
      ["GET", "/metrics"],
    ] as const)("leaves the disabled group's %s %s unmounted: 404 envelope", async (method, url) => {
      const user = await registerAndLogin(app);
      const res = await call(app, { method, url, token: user.accessToken });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ success: false, code: "NOT_FOUND" });
      expect(res.headers["x-request-id"]).toBe(res.json().traceId);
    });

    it("answers a guarded host route with the envelope, the trace id in x-request-id and the security headers", async () => {
      const user = await registerAndLogin(app);
      const res = await call(app, { method: "GET", url: "/notes", token: user.accessToken, headers: { traceparent: TRACEPARENT } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ success: true, data: { owner: user.userId, trace: TRACE }, traceId: TRACE });
      expect(res.headers["x-request-id"]).toBe(TRACE);
      expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.headers["cache-control"]).toBe("no-store");

      // A new id when the client sends none: the body and the header still agree.
      const fresh = await call(app, { method: "GET", url: "/notes", token: user.accessToken });
      expect(fresh.json().traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(fresh.headers["x-request-id"]).toBe(fresh.json().traceId);
    });

    it("refuses a host route without a credential (401) or without the permission (403), as envelopes", async () => {
      const anonymous = await call(app, { method: "GET", url: "/notes" });
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json()).toMatchObject({ success: false, code: "UNAUTHENTICATED" });
      expect(anonymous.headers["x-request-id"]).toBe(anonymous.json().traceId);
      expect(anonymous.headers["x-content-type-options"]).toBe("nosniff");

      const user = await registerAndLogin(app);
      const forbidden = await call(app, { method: "GET", url: "/staff", token: user.accessToken, headers: { "x-request-id": "host-req-1" } });
      expect(forbidden.statusCode).toBe(403);
      expect(forbidden.json()).toMatchObject({ success: false, code: "FORBIDDEN", traceId: "host-req-1" });
      expect(forbidden.headers["x-request-id"]).toBe("host-req-1");
    });

    it("decorates app.rampart with the runtime it was given", () => {
      expect(app.rampart.runtime).toBe(runtime);
      expect(app.rampart.identity).toBe(app.identity);
    });
  });

  it("leaves a runtime it was given open when the app closes", async () => {
    const env = await createTestEnv(mode);
    opened.push(() => env.cleanup());
    const { runtime } = await createTestRuntime(env);
    let closed = false;
    runtime.onClose(() => {
      closed = true;
    });
    opened.push(() => runtime.close());
    const app = Fastify();
    await app.register(rampart, { runtime });
    await app.ready();
    await app.close();
    expect(closed).toBe(false);
    // Still usable by the app that owns it.
    await expect(runtime.db.kysely.selectFrom("rampart_users").select("id").execute()).resolves.toEqual([]);
  });

  it("builds a runtime from `config`, and closes it with the app", async () => {
    const env = await createTestEnv(mode, { LOG_LEVEL: "silent" });
    opened.push(() => env.cleanup());
    stubSecretsEnv(env);
    opened.push(async () => void vi.unstubAllEnvs());
    const app = Fastify();
    await app.register(rampart, { config: env.config, routes: { identity: true, admin: true } });
    await app.ready();
    const runtime = app.rampart.runtime;
    let closed = false;
    runtime.onClose(() => {
      closed = true;
    });
    const user = await registerAndLogin(app);
    expect((await call(app, { method: "GET", url: "/v1/me", token: user.accessToken })).statusCode).toBe(200);
    // The admin group is on: a user without the permission is refused, not 404.
    expect((await call(app, { method: "GET", url: "/v1/admin/users", token: user.accessToken })).statusCode).toBe(403);
    await app.close();
    expect(closed).toBe(true);
  });
});

describe("rampart plugin options", () => {
  const opened: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of opened.splice(0).reverse()) await fn();
  });

  it("refuses an unknown route group or a value of the wrong kind, naming it; undefined leaves the default", async () => {
    const env = await createTestEnv("embedded");
    opened.push(() => env.cleanup());
    const { runtime } = await createTestRuntime(env);
    opened.push(() => runtime.close());
    const attempt = async (routes: unknown) => {
      const app = Fastify();
      opened.push(() => app.close());
      await app.register(rampart, { runtime, routes: routes as never });
      await app.ready();
      return app;
    };
    await expect(attempt({ identity: true, billing: true })).rejects.toThrow(/^rampart: unknown route group 'billing' in options.routes; known: identity, admin, /);
    await expect(attempt({ admin: "yes" })).rejects.toThrow(new TypeError("rampart: options.routes.admin must be a boolean, instead got 'yes'"));
    await expect(attempt({ quotas: null })).rejects.toThrow("rampart: options.routes.quotas must be a boolean, instead got 'null'");
    const app = await attempt({ identity: undefined, openapi: { ui: false } });
    // identity stays on (its default); openapi serves the document without the UI.
    expect(app.hasRoute({ method: "POST", url: "/v1/auth/register" })).toBe(true);
    const doc = await app.inject({ method: "GET", url: "/openapi.json" });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().paths).toHaveProperty(["/v1/auth/register"]);
    expect((await app.inject({ method: "GET", url: "/docs" })).statusCode).toBe(404);
  });

  it("a start that fails after building its runtime closes it: the embedded database can be opened again", async () => {
    const env = await createTestEnv("embedded", { LOG_LEVEL: "silent" });
    opened.push(() => env.cleanup());
    stubSecretsEnv(env);
    opened.push(async () => void vi.unstubAllEnvs());
    const app = Fastify();
    opened.push(() => app.close());
    // A policy named like a built-in one is refused while the app is composed, after the runtime exists.
    await expect(app.register(rampart, { config: env.config, rateLimit: { policies: [definePolicy({ name: "login", limit: 1, windowMs: 60_000 })] } }).ready()).rejects.toThrow(/login/);
    const { runtime } = await createTestRuntime(env);
    opened.push(() => runtime.close());
    await expect(runtime.db.kysely.selectFrom("rampart_users").select("id").execute()).resolves.toEqual([]);
  });
});

describe("the lower-level plugins taken alone", () => {
  it("every plugin the root entry exports has a name, and every dependency it declares is an exported plugin", async () => {
    const root = (await import("../../src/index.js")) as Record<string, unknown>;
    const meta = (v: unknown) => (typeof v === "function" ? (v as unknown as Record<symbol, { name?: string; dependencies?: string[] } | undefined>)[Symbol.for("plugin-meta")] : undefined);
    const plugins = Object.entries(root).flatMap(([exported, value]) => {
      const m = meta(value);
      return m ? [{ exported, name: m.name, dependencies: m.dependencies ?? [] }] : [];
    });
    const names = new Set(plugins.map((p) => p.name));
    // The plugins `rampart` registers, each exported with its metadata.
    for (const exported of ["rampart", "requestContextPlugin", "wellFormedTextPlugin", "errorsPlugin", "accessLogPlugin", "httpProtectionsPlugin", "rateLimitPlugin", "authPlugin", "quotaPlugin", "metricsPlugin", "idempotencyPlugin", "healthPlugin", "jwksPlugin", "identityRoutes", "apiKeyRoutes", "adminUserRoutes", "auditRoutes", "quotaRoutes", "fileRoutes", "gdprRoutes", "webhookRoutes"]) {
      expect(plugins.find((p) => p.exported === exported)?.name, exported).toMatch(/^rampart(-|$)/);
    }
    const missing = plugins.flatMap((p) => p.dependencies.filter((d) => !names.has(d)).map((d) => `${p.exported} → ${d}`));
    expect(missing).toEqual([]);
  });

  it("the errors plugin alone: RampartErrors and unknown routes leave as envelopes", async () => {
    const app = Fastify();
    await app.register(errorsPlugin);
    app.get("/locked", async () => {
      throw new RampartError("FORBIDDEN");
    });
    await app.ready();
    const res = await call(app, { method: "GET", url: "/locked" });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ success: false, code: "FORBIDDEN" });
    expect(res.headers["x-request-id"]).toBe(res.json().traceId);
    const missing = await call(app, { method: "GET", url: "/nowhere" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ success: false, code: "NOT_FOUND" });
    await app.close();
  });

  it("the rate limiter alone, with the request context it declares: refuses over the limit", async () => {
    const limiter = new RateLimiter({
      store: new MemoryRateLimitStore({ clock: systemClock }),
      policies: [definePolicy({ name: "default", limit: 2, windowMs: 60_000, by: "ip" })],
    });
    const app = Fastify();
    await app.register(requestContextPlugin);
    await app.register(rateLimitPlugin, { limiter });
    app.get("/ping", async () => ({ pong: true }));
    await app.ready();
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await app.inject({ method: "GET", url: "/ping" })).statusCode);
    expect(codes).toEqual([200, 200, 429]);
    await app.close();
  });

  it("the rate limiter without its declared dependency fails at start, naming it", async () => {
    const limiter = new RateLimiter({ store: new MemoryRateLimitStore({ clock: systemClock }), policies: [definePolicy({ name: "default", limit: 2, windowMs: 60_000 })] });
    const app = Fastify();
    await expect(app.register(rateLimitPlugin, { limiter })).rejects.toThrow(/rampart-request-context/);
    await app.close();
  });
});

describe.each(testModes())("the auth plugin alone (%s)", (mode) => {
  it("starts on a bare instance with its declared dependencies and resolves the principal", async () => {
    const env = await createTestEnv(mode);
    const { runtime } = await createTestRuntime(env);
    try {
      const app = Fastify();
      await app.register(requestContextPlugin);
      await app.register(errorsPlugin, { log: runtime.log });
      await app.register(authPlugin, { runtime });
      app.get("/who", { preHandler: guard("me:read") }, async (request) => ok(request, { user: request.principal?.userId ?? null }));
      await app.ready();
      const res = await call(app, { method: "GET", url: "/who" });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ success: false, code: "UNAUTHENTICATED" });
      await app.close();
    } finally {
      await runtime.close();
      await env.cleanup();
    }
  });
});
