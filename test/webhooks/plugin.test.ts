import { randomBytes } from "node:crypto";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Type } from "@sinclair/typebox";
import Stripe from "stripe";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorCatalogue } from "../../src/errors/index.js";
import { Envelope, ok } from "../../src/server/envelope.js";
import { webhooksPlugin, type WebhookDelivery, type WebhookEndpoint, type WebhookRejection } from "../../src/webhooks/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

const stripe = new Stripe("sk_test_rampart_not_a_real_key");
const stripeSecret = `whsec_${randomBytes(24).toString("hex")}`;
const oldStandard = `whsec_${randomBytes(24).toString("base64")}`;
const newStandard = `whsec_${randomBytes(24).toString("base64")}`;
// Exact bytes matter: spacing, key order and non-ASCII that a JSON round trip would change.
const payload = '{"id": "evt_42",  "object":"event", "type":"charge.succeeded", "data": {"z": 1, "a": "ünï"}}';
const nowS = () => Math.floor(Date.now() / 1000);

describe("webhooks plugin", () => {
  let t: TestApp;
  const delivered: WebhookDelivery[] = [];
  const rejected: WebhookRejection[] = [];
  const seen = new Set<string>();
  const endpoints: Record<string, WebhookEndpoint> = {
    payments: { provider: "stripe", secrets: async () => stripeSecret },
    // A rotation in progress: the secret value holds the new and the old secret.
    events: { provider: "standard", secrets: () => `${newStandard}\n${oldStandard}` },
  };

  beforeAll(async () => {
    // The composed server serves the configured endpoints at /v1/webhooks; this stand-alone instance of the plugin gets a path of its own.
    t = await createTestApp("embedded", {
      configure: async (app) => {
        await app.register(webhooksPlugin, {
          prefix: "/v1/plugin-webhooks",
          endpoint: (name) => endpoints[name],
          onEvent: (d) => {
            delivered.push(d);
            // A stand-in inbox: Stripe's event id is in the body; the exact bytes identify it here.
            const key = `${d.provider}:${d.id ?? d.rawBody.toString("base64")}`;
            const duplicate = seen.has(key);
            seen.add(key);
            return { duplicate };
          },
          onRejected: (r) => rejected.push(r),
          bodyLimit: 4096,
        });
        app.post(
          "/v1/echo",
          { schema: { body: Type.Object({ a: Type.Integer() }, { additionalProperties: false }), response: { 200: Envelope(Type.Object({ a: Type.Integer() })) } } },
          async (request) => ok(request, request.body as { a: number }),
        );
      },
    });
  });
  afterAll(() => t.close());

  const post = (url: string, headers: Record<string, string>, body = payload) => t.app.inject({ method: "POST", url, headers: { "content-type": "application/json", ...headers }, payload: body });

  it("verifies a Stripe delivery and hands the exact received bytes to the inbox", async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret, timestamp: nowS() });
    const res = await post("/v1/plugin-webhooks/payments", { "stripe-signature": header });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true, data: { received: true, duplicate: false }, traceId: res.headers["x-request-id"] });
    const d = delivered.at(-1)!;
    expect(d).toMatchObject({ endpoint: "payments", provider: "stripe", secretIndex: 0 });
    expect(d.rawBody.equals(Buffer.from(payload, "utf8"))).toBe(true);
  });

  it("acknowledges a replay inside the tolerance as a duplicate (the inbox decides)", async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret, timestamp: nowS() });
    const res = await post("/v1/plugin-webhooks/payments", { "stripe-signature": header });
    expect(res.json().data).toEqual({ received: true, duplicate: true });
  });

  it("verifies whatever the content type, since the body is never parsed before verification", async () => {
    const body = "not json at all";
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret, timestamp: nowS() });
    const res = await post("/v1/plugin-webhooks/payments", { "stripe-signature": header, "content-type": "text/plain" }, body);
    expect(res.statusCode).toBe(200);
  });

  it("verifies Standard Webhooks deliveries signed with the old or the new secret during rotation", async () => {
    for (const [secret, index] of [[oldStandard, 1], [newStandard, 0]] as const) {
      const id = `msg_${randomBytes(8).toString("hex")}`;
      const ts = nowS();
      const res = await post("/v1/plugin-webhooks/events", { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": new Webhook(secret).sign(id, new Date(ts * 1000), payload) });
      expect(res.statusCode).toBe(200);
      expect(delivered.at(-1)).toMatchObject({ id, secretIndex: index });
    }
  });

  it("answers a bad signature with 400 WEBHOOK_SIGNATURE_INVALID only; the reason goes to the log and onRejected", async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: "whsec_forged", timestamp: nowS() });
    const res = await post("/v1/plugin-webhooks/payments", { "stripe-signature": header });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ success: false, code: "WEBHOOK_SIGNATURE_INVALID", message: errorCatalogue.WEBHOOK_SIGNATURE_INVALID.message, traceId: res.headers["x-request-id"] });
    expect(res.body).not.toMatch(/mismatch|secret/i);
    const line = t.logs.records().find((r) => r.msg === "webhook signature rejected" && r.traceId === res.headers["x-request-id"]);
    expect(line).toMatchObject({ endpoint: "payments", provider: "stripe", reason: "signature_mismatch" });
    expect(rejected.at(-1)).toMatchObject({ endpoint: "payments", reason: "signature_mismatch", traceId: res.headers["x-request-id"] });
  });

  it("refuses a stale delivery the same way", async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret, timestamp: nowS() - 600 });
    const res = await post("/v1/plugin-webhooks/payments", { "stripe-signature": header });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("WEBHOOK_SIGNATURE_INVALID");
    expect(rejected.at(-1)?.reason).toBe("timestamp_out_of_tolerance");
  });

  it("answers 404 for an endpoint that is not configured, and 413 past the body limit", async () => {
    expect((await post("/v1/plugin-webhooks/unknown", {})).statusCode).toBe(404);
    const big = "x".repeat(5000);
    const res = await post("/v1/plugin-webhooks/payments", { "stripe-signature": "t=1,v1=00" }, big);
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("keeps the raw-body parser inside its scope: other routes still parse and validate JSON", async () => {
    const res = await t.app.inject({ method: "POST", url: "/v1/echo", payload: { a: 1 } });
    expect(res.json().data).toEqual({ a: 1 });
    expect((await t.app.inject({ method: "POST", url: "/v1/echo", payload: "a=1", headers: { "content-type": "text/plain" } })).statusCode).toBe(415);
  });

  it("documents the route in a valid OpenAPI document", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(Object.keys(doc.paths)).toContain("/v1/plugin-webhooks/{name}");
  });
});
