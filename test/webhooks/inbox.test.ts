/**
 * Inbound webhooks end to end on the composed server, in both storage modes:
 * deliveries signed with the real `stripe` and `standardwebhooks` packages
 * are verified, stored once per (provider, event id) — even when 20 copies
 * arrive at once — dispatched to registered handlers, retried with backoff,
 * dead-lettered, listed and replayed through the admin API.
 */
import { randomBytes } from "node:crypto";
import Stripe from "stripe";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { makeAdmin } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";
import { currentContext } from "../../src/context/index.js";
import type { WebhookEvent } from "../../src/webhooks/index.js";

const stripe = new Stripe("sk_test_rampart_not_a_real_key");
const STRIPE_OLD = `whsec_${randomBytes(24).toString("hex")}`;
const STRIPE_NEW = `whsec_${randomBytes(24).toString("hex")}`;
const STANDARD = `whsec_${randomBytes(24).toString("base64")}`;
// Rotation in progress: the new secret first, the old one still accepted.
process.env.RAMPART_SECRET_TEST_INBOX_STRIPE = `${STRIPE_NEW}\n${STRIPE_OLD}`;
process.env.RAMPART_SECRET_TEST_INBOX_STANDARD = STANDARD;

const nowS = () => Math.floor(Date.now() / 1000);
let seq = 0;
const stripeEvent = (type = "payment_intent.succeeded") => JSON.stringify({ id: `evt_${++seq}_${randomBytes(4).toString("hex")}`, object: "event", type, data: { note: "café ✓" } }, null, 2);

function stripeDelivery(endpoint: string, payload: string, opts: { secret?: string; timestamp?: number } = {}) {
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? STRIPE_NEW, timestamp: opts.timestamp ?? nowS() });
  return { method: "POST" as const, url: `/v1/webhooks/${endpoint}`, payload, headers: { "content-type": "application/json", "stripe-signature": header } };
}

function standardDelivery(payload: string, id = `msg_${randomBytes(6).toString("hex")}`) {
  const ts = new Date();
  return { method: "POST" as const, url: "/v1/webhooks/std", payload, headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(Math.floor(ts.getTime() / 1000)), "webhook-signature": new Webhook(STANDARD).sign(id, ts, payload) } };
}

describe.each(testModes())("inbound webhooks (%s)", (mode) => {
  let t: TestApp;
  let admin: string;
  const seen: WebhookEvent[] = [];
  const failing = new Map<string, number>();
  const traces = new Map<string, (string | undefined)[]>();

  beforeAll(async () => {
    t = await createTestApp(mode, {
      env: {
        WEBHOOK_ENDPOINTS: "payments=stripe:test-inbox-stripe,std=standard:test-inbox-standard,flaky=stripe:test-inbox-stripe",
        WEBHOOK_MAX_ATTEMPTS: "3",
        WEBHOOK_RETRY_BASE_MS: "5",
        WEBHOOK_RETRY_MAX_MS: "20",
        WEBHOOK_POLL_INTERVAL_MS: "20",
      },
      configure: (app) => {
        app.webhooks.on("*", (e) => void seen.push(e));
        app.webhooks.on("flaky", async (e) => {
          traces.set(e.eventId, [...(traces.get(e.eventId) ?? []), currentContext()?.traceId]);
          const left = failing.get(e.eventId) ?? 0;
          if (left > 0) {
            failing.set(e.eventId, left - 1);
            throw new Error("handler down");
          }
        });
      },
    });
    const user = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, user.userId);
    admin = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: user.email, password: user.password } })).data.accessToken;
  });
  afterAll(() => t?.close());

  const stateOf = async (eventId: string) => (await t.runtime.db.kysely.selectFrom("rampart_webhook_events").selectAll().where("event_id", "=", eventId).executeTakeFirst())?.state;
  const handled = (eventId: string) => seen.filter((e) => e.eventId === eventId).length;

  it("accepts a Stripe delivery, answers 200 and dispatches the exact bytes to the handlers", async () => {
    const payload = stripeEvent();
    const res = await t.app.inject(stripeDelivery("payments", payload));
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({ received: true, duplicate: false });
    const eventId = JSON.parse(payload).id as string;
    await vi.waitFor(async () => expect(await stateOf(eventId)).toBe("processed"));
    const event = seen.find((e) => e.eventId === eventId)!;
    expect(event.payload.toString("utf8")).toBe(payload);
    expect(event).toMatchObject({ endpoint: "payments", provider: "stripe", type: "payment_intent.succeeded", attempt: 1 });
  });

  it("stores the payload encrypted, never in clear", async () => {
    const payload = stripeEvent();
    expect((await t.app.inject(stripeDelivery("payments", payload))).statusCode).toBe(200);
    const row = await t.runtime.db.kysely.selectFrom("rampart_webhook_events").selectAll().where("event_id", "=", JSON.parse(payload).id).executeTakeFirstOrThrow();
    expect(row.payload_enc.startsWith("rp1:")).toBe(true);
    expect(row.payload_enc).not.toContain("café");
  });

  it("accepts the old secret during a rotation", async () => {
    const payload = stripeEvent();
    const res = await t.app.inject(stripeDelivery("payments", payload, { secret: STRIPE_OLD }));
    expect(res.statusCode).toBe(200);
  });

  it("refuses a tampered body, a stale and a future timestamp and an unknown secret with WEBHOOK_SIGNATURE_INVALID and a security event", async () => {
    const payload = stripeEvent();
    const good = stripeDelivery("payments", payload);
    const rejected: unknown[] = [];
    const off = t.runtime.events.on((e) => e.name === "webhook.rejected" && rejected.push(e));
    // The exact 300 s boundary is tested with a fixed clock in
    // stripe.security.test.ts; here the timestamps are an hour off, so the
    // wall clock moving while a loaded machine runs the suite cannot bring
    // them back inside the tolerance.
    const cases = [
      () => ({ ...good, payload: payload.replace("succeeded", "failed") }),
      () => stripeDelivery("payments", payload, { timestamp: nowS() - 3600 }),
      () => stripeDelivery("payments", payload, { timestamp: nowS() + 3600 }),
      () => stripeDelivery("payments", payload, { secret: "whsec_attacker" }),
    ];
    for (const c of cases) {
      const res = await t.app.inject(c());
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe("WEBHOOK_SIGNATURE_INVALID");
    }
    off();
    expect(rejected).toHaveLength(4);
    expect(await stateOf(JSON.parse(payload).id)).toBeUndefined();
  });

  it("answers 404 for an endpoint that is not configured", async () => {
    const res = await t.app.inject(stripeDelivery("nope", stripeEvent()));
    expect(res.statusCode).toBe(404);
  });

  it("acknowledges 20 concurrent deliveries of one event and processes it once", async () => {
    const payload = stripeEvent();
    const eventId = JSON.parse(payload).id as string;
    const results = await Promise.all(Array.from({ length: 20 }, () => t.app.inject(stripeDelivery("payments", payload))));
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect(results.filter((r) => r.json().data.duplicate === false)).toHaveLength(1);
    await vi.waitFor(async () => expect(await stateOf(eventId)).toBe("processed"));
    await Promise.all([t.app.webhooks.drain(), t.app.webhooks.drain()]);
    expect(handled(eventId)).toBe(1);
    const rows = await t.runtime.db.kysely.selectFrom("rampart_webhook_events").select("id").where("event_id", "=", eventId).execute();
    expect(rows).toHaveLength(1);
  });

  it("dedupes Standard Webhooks deliveries on webhook-id (a replayed message is acknowledged, not processed)", async () => {
    const id = `msg_${randomBytes(6).toString("hex")}`;
    const payload = JSON.stringify({ type: "invoice.paid", n: 1 });
    const first = await t.app.inject(standardDelivery(payload, id));
    const again = await t.app.inject(standardDelivery(payload, id));
    expect(first.json().data.duplicate).toBe(false);
    expect(again.statusCode).toBe(200);
    expect(again.json().data.duplicate).toBe(true);
    await vi.waitFor(async () => expect(await stateOf(id)).toBe("processed"));
    expect(handled(id)).toBe(1);
    expect(seen.find((e) => e.eventId === id)?.type).toBe("invoice.paid");
  });

  it("retries a failing handler with backoff and succeeds", async () => {
    const payload = stripeEvent();
    const eventId = JSON.parse(payload).id as string;
    failing.set(eventId, 2);
    await t.app.inject(stripeDelivery("flaky", payload));
    await vi.waitFor(async () => expect(await stateOf(eventId)).toBe("processed"), { timeout: 5000 });
    const row = await t.runtime.db.kysely.selectFrom("rampart_webhook_events").selectAll().where("event_id", "=", eventId).executeTakeFirstOrThrow();
    expect(row.attempts).toBe(3);
    // The handler calls ran through the endpoint's upstream in the runtime's registry (which /metrics lists).
    expect(t.runtime.upstreams.get("webhooks.flaky")?.stats()).toMatchObject({ failures: 2, breaker: "closed" });
  });

  it("dispatches every attempt under the trace of the request that delivered the event", async () => {
    const payload = stripeEvent();
    const eventId = JSON.parse(payload).id as string;
    failing.set(eventId, 1);
    const traceId = randomBytes(16).toString("hex");
    const delivery = stripeDelivery("flaky", payload);
    const res = await t.app.inject({ ...delivery, headers: { ...delivery.headers, traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(res.headers["x-request-id"]).toBe(traceId);
    await vi.waitFor(async () => expect(await stateOf(eventId)).toBe("processed"), { timeout: 5000 });
    // Both attempts, the failed one and its retry, ran in the delivering request's trace, after that request ended.
    expect(traces.get(eventId)).toEqual([traceId, traceId]);
    const row = await t.runtime.db.kysely.selectFrom("rampart_webhook_events").selectAll().where("event_id", "=", eventId).executeTakeFirstOrThrow();
    expect(row.trace_id).toBe(traceId);
    const failed = t.logs.records().filter((r) => r.msg === "webhook handler failed" && r.webhookEvent === row.id);
    expect(failed.map((r) => r.traceId)).toEqual([traceId]);
  });

  it("dead-letters after the last attempt, lists it for admins, and replays it", async () => {
    const payload = stripeEvent("charge.failed");
    const eventId = JSON.parse(payload).id as string;
    failing.set(eventId, 3);
    const dead: unknown[] = [];
    const off = t.runtime.events.on((e) => e.name === "webhook.dead-lettered" && dead.push(e));
    await t.app.inject(stripeDelivery("flaky", payload));
    await vi.waitFor(async () => expect(await stateOf(eventId)).toBe("dead"), { timeout: 5000 });
    off();
    expect(dead).toHaveLength(1);

    const list = await call(t.app, { method: "GET", url: "/v1/admin/webhooks?endpoint=flaky&state=dead", token: admin });
    expect(list.statusCode).toBe(200);
    const listed = (list.data.events as { id: string; eventId: string; attempts: number; lastError: string }[]).find((e) => e.eventId === eventId)!;
    expect(listed).toMatchObject({ attempts: 3, lastError: "Error: handler down" });

    const replay = await call(t.app, { method: "POST", url: `/v1/admin/webhooks/${listed.id}/replay`, token: admin });
    expect(replay.statusCode).toBe(200);
    await vi.waitFor(async () => expect(await stateOf(eventId)).toBe("processed"), { timeout: 5000 });
    // The endpoint's handler runs first and failed three times; the "*" handler only ran on the replayed, successful attempt.
    expect(handled(eventId)).toBe(1);
    expect((await call(t.app, { method: "GET", url: "/v1/admin/webhooks?endpoint=flaky&state=processed", token: admin })).data.events.some((e: { eventId: string; attempts: number }) => e.eventId === eventId && e.attempts === 1)).toBe(true);
  });

  it("pages the admin list with a cursor and guards it by permission", async () => {
    const first = await call(t.app, { method: "GET", url: "/v1/admin/webhooks?limit=2", token: admin });
    expect(first.data.events).toHaveLength(2);
    const second = await call(t.app, { method: "GET", url: `/v1/admin/webhooks?limit=2&cursor=${first.data.nextCursor}`, token: admin });
    expect(second.data.events).toHaveLength(2);
    expect(second.data.events[0].id).not.toBe(first.data.events[0].id);
    const plain = await registerAndLogin(t.app);
    expect((await call(t.app, { method: "GET", url: "/v1/admin/webhooks", token: plain.accessToken })).statusCode).toBe(403);
    expect((await call(t.app, { method: "POST", url: `/v1/admin/webhooks/${first.data.events[0].id}/replay`, token: plain.accessToken })).statusCode).toBe(403);
    expect((await call(t.app, { method: "GET", url: "/v1/admin/webhooks" })).statusCode).toBe(401);
    expect((await call(t.app, { method: "POST", url: "/v1/admin/webhooks/00000000-0000-4000-8000-000000000000/replay", token: admin })).statusCode).toBe(404);
  });
});
