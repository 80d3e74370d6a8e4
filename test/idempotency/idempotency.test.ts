/**
 * Idempotency keys on the composed server, in both storage modes: a replay
 * returns the stored response (5xx included), another payload under the same
 * key is refused, concurrent first requests run once, keys are scoped per
 * principal, and records expire.
 */
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { call, credentials, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { IdempotencyStore, requestFingerprint } from "../../src/idempotency/index.js";

describe.each(testModes())("idempotency keys (%s)", (mode) => {
  let t: TestApp;
  let boomRuns = 0;
  const runs = { stream: 0, hijack: 0, order: 0 };

  beforeAll(async () => {
    t = await createTestApp(mode, {
      // The explicit registration answers (201 with the user, 409 for a taken email) show which run produced a response.
      env: { AUTH_REGISTRATION_CONFLICT: "explicit" },
      configure: (app) => {
        app.post("/test/boom", { config: { idempotent: true } }, async () => {
          boomRuns++;
          throw new Error("database exploded");
        });
        app.post("/test/stream", { config: { idempotent: true } }, async (_request, reply) => {
          runs.stream++;
          return reply.type("text/plain").send(Readable.from(["run ", String(runs.stream)]));
        });
        app.post("/test/hijack", { config: { idempotent: true } }, async (_request, reply) => {
          runs.hijack++;
          reply.hijack();
          reply.raw.writeHead(200, { "content-type": "text/plain" }).end(`run ${runs.hijack}`);
        });
        app.post("/test/order", { config: { idempotent: true } }, async (_request, reply) => {
          runs.order++;
          return reply.code(201).send({ order: runs.order });
        });
      },
    });
  });
  afterAll(() => t?.close());

  const withKey = (key: string, token?: string) => ({ headers: { "idempotency-key": key }, ...(token ? { token } : {}) });

  it("replays the first response of a register with an identical body, marked as a replay", async () => {
    const creds = credentials();
    const first = await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds, ...withKey("reg-1") });
    expect(first.statusCode).toBe(201);
    expect(first.headers["idempotency-replayed"]).toBeUndefined();
    const again = await call(t.app, { method: "POST", url: "/v1/auth/register", body: { password: creds.password, email: creds.email }, ...withKey("reg-1") });
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers["idempotency-replayed"]).toBe("true");
    expect(again.headers["content-type"]).toBe(first.headers["content-type"]);
    // Without the key, the same payload runs again (and finds the account taken).
    expect((await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds })).statusCode).toBe(409);
  });

  it("refuses the same key with a different payload: 422 IDEMPOTENCY_KEY_REUSED", async () => {
    const res1 = await call(t.app, { method: "POST", url: "/v1/auth/register", body: credentials(), ...withKey("reg-2") });
    expect(res1.statusCode).toBe(201);
    const res2 = await call(t.app, { method: "POST", url: "/v1/auth/register", body: credentials(), ...withKey("reg-2") });
    expect(res2.statusCode).toBe(422);
    expect(res2.code).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("runs concurrent requests with one key once: the others get 409 IDEMPOTENCY_IN_FLIGHT or the replay", async () => {
    const user = await registerAndLogin(t.app);
    const body = { name: "ci", scopes: [] };
    const results = await Promise.all(Array.from({ length: 5 }, () => call(t.app, { method: "POST", url: "/v1/api-keys", body, ...withKey("create-key-1", user.accessToken) })));
    const created = results.filter((r) => r.statusCode === 201);
    const inFlight = results.filter((r) => r.statusCode === 409);
    expect(created.length + inFlight.length).toBe(5);
    expect(inFlight.every((r) => r.code === "IDEMPOTENCY_IN_FLIGHT")).toBe(true);
    expect(new Set(created.map((r) => r.data.id)).size).toBe(1);
    const list = await call(t.app, { method: "GET", url: "/v1/api-keys", token: user.accessToken });
    expect(list.data.apiKeys).toHaveLength(1);
    // Once done, the key replays the one creation (the key shown once, to its owner, under the same key).
    const replay = await call(t.app, { method: "POST", url: "/v1/api-keys", body, ...withKey("create-key-1", user.accessToken) });
    expect(replay.statusCode).toBe(201);
    expect(replay.data.id).toBe(created[0]!.data.id);
    expect(replay.headers["idempotency-replayed"]).toBe("true");
  });

  it("scopes keys per principal: another user with the same key is independent", async () => {
    const a = await registerAndLogin(t.app);
    const b = await registerAndLogin(t.app);
    const ra = await call(t.app, { method: "POST", url: "/v1/api-keys", body: { name: "a", scopes: [] }, ...withKey("shared", a.accessToken) });
    const rb = await call(t.app, { method: "POST", url: "/v1/api-keys", body: { name: "b", scopes: [] }, ...withKey("shared", b.accessToken) });
    expect(ra.statusCode).toBe(201);
    expect(rb.statusCode).toBe(201);
    expect(rb.headers["idempotency-replayed"]).toBeUndefined();
    expect(rb.data.id).not.toBe(ra.data.id);
  });

  it("stores and replays a 5xx without running the handler again", async () => {
    const first = await t.app.inject({ method: "POST", url: "/test/boom", payload: { x: 1 }, headers: { "idempotency-key": "boom-1" } });
    expect(first.statusCode).toBe(500);
    const again = await t.app.inject({ method: "POST", url: "/test/boom", payload: { x: 1 }, headers: { "idempotency-key": "boom-1" } });
    expect(again.statusCode).toBe(500);
    expect(again.body).toBe(first.body);
    expect(again.json().code).toBe("INTERNAL_ERROR");
    expect(again.headers["idempotency-replayed"]).toBe("true");
    expect(boomRuns).toBe(1);
  });

  it("refuses a malformed key with 400 VALIDATION_FAILED", async () => {
    for (const key of ["x".repeat(256), "naïve", ""]) {
      const res = await call(t.app, { method: "POST", url: "/v1/auth/register", body: credentials(), headers: { "idempotency-key": key } });
      expect(res.statusCode, key).toBe(400);
      expect(res.code).toBe("VALIDATION_FAILED");
    }
  });

  it("keeps responses encrypted in the kv store for IDEMPOTENCY_TTL_HOURS", async () => {
    const creds = credentials();
    const res = await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds, ...withKey("reg-ttl") });
    expect(res.statusCode).toBe(201);
    const store = new IdempotencyStore({ kv: t.runtime.kv, crypto: t.runtime.crypto, ttlMs: 1, inFlightTtlMs: 1 });
    const kvKey = store.kvKey(`ip:127.0.0.1`, "reg-ttl");
    const raw = await t.runtime.kv.get(kvKey);
    expect(raw).not.toBeNull();
    expect(raw).not.toContain(creds.email);
    const ttl = (await t.runtime.kv.ttl(kvKey))!;
    expect(ttl).toBeGreaterThan(23 * 3_600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3_600_000);
  });

  it("forgets a key after its TTL", async () => {
    const store = new IdempotencyStore({ kv: t.runtime.kv, crypto: t.runtime.crypto, ttlMs: 150, inFlightTtlMs: 150 });
    const fp = requestFingerprint("POST", "/x", "user:1", { a: 1 });
    expect(await store.begin("user:1", "ttl-key", fp)).toEqual({ kind: "started" });
    await store.complete("user:1", "ttl-key", fp, { status: 201, headers: {}, body: "{}" });
    expect((await store.begin("user:1", "ttl-key", fp)).kind).toBe("replay");
    expect((await store.begin("user:1", "ttl-key", requestFingerprint("POST", "/x", "user:1", { a: 2 }))).kind).toBe("mismatch");
    await sleep(300);
    expect(await store.begin("user:1", "ttl-key", requestFingerprint("POST", "/x", "user:1", { a: 2 }))).toEqual({ kind: "started" });
  });

  it("runs a request again when its first response was streamed (a stream cannot be stored)", async () => {
    const post = () => t.app.inject({ method: "POST", url: "/test/stream", payload: { x: 1 }, headers: { "idempotency-key": "stream-1" } });
    const first = await post();
    expect(first.statusCode).toBe(200);
    expect(first.body).toBe(`run ${runs.stream}`);
    const again = await post();
    expect(again.statusCode).toBe(200);
    expect(again.headers["idempotency-replayed"]).toBeUndefined();
    expect(again.body).toBe(`run ${runs.stream}`);
    expect(again.body).not.toBe(first.body);
  });

  it("frees the key of a request whose reply was hijacked, so a retry runs instead of waiting as in flight", async () => {
    const post = () => t.app.inject({ method: "POST", url: "/test/hijack", payload: { x: 1 }, headers: { "idempotency-key": "hijack-1" } });
    expect((await post()).body).toBe("run 1");
    const again = await post();
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe("run 2");
  });

  it("still answers when the response cannot be stored, logs it, and lets the retry run again", async () => {
    const store = t.runtime.kv;
    const set = store.set.bind(store);
    // The store refuses the write of the completed record (not the claim, made with ifAbsent).
    const failing = vi.spyOn(store, "set").mockImplementation((key, value, options) => (options?.ifAbsent ? set(key, value, options) : Promise.reject(new Error("kv write refused"))));
    const post = () => t.app.inject({ method: "POST", url: "/test/order", payload: { x: 1 }, headers: { "idempotency-key": "order-1" } });
    const logged = t.logs.lines.length;
    try {
      const first = await post();
      expect(first.statusCode).toBe(201);
      expect(first.json()).toEqual({ order: runs.order });
    } finally {
      failing.mockRestore();
    }
    const errors = t.logs.records().slice(logged).filter((r) => r.msg === "idempotent response not stored");
    expect(errors).toMatchObject([{ level: "error", err: { message: "kv write refused" } }]);
    const again = await post();
    expect(again.statusCode).toBe(201);
    expect(again.headers["idempotency-replayed"]).toBeUndefined();
    expect(again.json()).toEqual({ order: runs.order });
    expect(runs.order).toBe(2);
  });

  it("keeps no record for a request whose credentials were refused (it has no scope to be replayed in)", async () => {
    const post = () => t.app.inject({ method: "POST", url: "/test/order", payload: { y: 1 }, headers: { "idempotency-key": "bad-token-1", authorization: "Bearer not-a-token" } });
    const before = runs.order;
    const first = await post();
    const again = await post();
    expect([first.statusCode, again.statusCode]).toEqual([201, 201]);
    expect(again.headers["idempotency-replayed"]).toBeUndefined();
    expect(runs.order).toBe(before + 2);
    const anonymous = new IdempotencyStore({ kv: t.runtime.kv, crypto: t.runtime.crypto, ttlMs: 1, inFlightTtlMs: 1 });
    expect(await t.runtime.kv.get(anonymous.kvKey("ip:127.0.0.1", "bad-token-1"))).toBeNull();
  });
});
