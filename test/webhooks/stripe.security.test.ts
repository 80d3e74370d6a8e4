/**
 * Threat: a forged, tampered-with or replayed Stripe delivery is accepted as
 * genuine (say, a fake `payment_intent.succeeded` marking an order paid).
 * Deliveries are signed with the real `stripe` package, an implementation
 * independent of ours; anything it did not sign with an active secret, or
 * signed outside the 300 s window either way, must be refused with the one
 * WEBHOOK_SIGNATURE_INVALID error. A capture replayed inside the window,
 * with the unsigned parts of the request changed (extra signature entries,
 * another provider's id and event headers, another content type), must be
 * acknowledged as a duplicate and neither stored nor dispatched again: the
 * key is the `id` inside the signed body.
 */
import { randomBytes, randomUUID } from "node:crypto";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { verifyStripe, type VerifyOptions, type WebhookEvent } from "../../src/webhooks/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { rejection } from "./helpers.js";

const stripe = new Stripe("sk_test_rampart_not_a_real_key");
const NOW = Date.UTC(2026, 0, 1, 12);
const NOW_S = NOW / 1000;
const secret = `whsec_${randomBytes(24).toString("hex")}`;
// Whitespace and non-ASCII: any re-serialization would change the bytes.
const payload = JSON.stringify({ id: "evt_1", object: "event", type: "payment_intent.succeeded", data: { note: "café ✓" } }, null, 2);

const sign = (opts: { payload?: string; secret?: string; timestamp?: number } = {}) =>
  stripe.webhooks.generateTestHeaderString({ payload: opts.payload ?? payload, secret: opts.secret ?? secret, timestamp: opts.timestamp ?? NOW_S });

function verify(header: string | string[] | undefined, body = payload, options: Partial<VerifyOptions> = {}) {
  return verifyStripe({ rawBody: Buffer.from(body, "utf8"), headers: { "stripe-signature": header } }, { secrets: secret, now: NOW, ...options });
}


describe("Stripe verifier", () => {
  it("accepts a delivery signed by the stripe package", () => {
    expect(verify(sign())).toEqual({ provider: "stripe", id: null, deliveryId: null, timestamp: NOW_S, secretIndex: 0 });
  });

  it("refuses a tampered body, even one that is the same JSON re-serialized", () => {
    const header = sign();
    expect(rejection(() => verify(header, payload.replace("succeeded", "succeedeD"))).reason).toBe("signature_mismatch");
    expect(rejection(() => verify(header, JSON.stringify(JSON.parse(payload)))).reason).toBe("signature_mismatch");
  });

  it("refuses a delivery signed with another secret", () => {
    expect(rejection(() => verify(sign({ secret: "whsec_attacker" }))).reason).toBe("signature_mismatch");
  });

  it("refuses a timestamp moved after signing", () => {
    const header = sign().replace(`t=${NOW_S}`, `t=${NOW_S + 1}`);
    expect(rejection(() => verify(header)).reason).toBe("signature_mismatch");
  });

  it("accepts up to 300 s of age and refuses a stale delivery beyond it", () => {
    expect(verify(sign({ timestamp: NOW_S - 300 })).timestamp).toBe(NOW_S - 300);
    const e = rejection(() => verify(sign({ timestamp: NOW_S - 301 })));
    expect(e.reason).toBe("timestamp_out_of_tolerance");
    expect(e.detail).toMatch(/301 s in the past/);
  });

  it("refuses a timestamp more than 300 s in the future, which Stripe's own library accepts", () => {
    const ahead = sign({ timestamp: NOW_S + 3_600 });
    // The reference implementation only bounds the past...
    expect(stripe.webhooks.signature!.verifyHeader(payload, ahead, secret, 300, undefined, NOW_S)).toBe(true);
    // ...a forged-ahead timestamp would keep a captured delivery replayable for an hour.
    expect(rejection(() => verify(ahead)).reason).toBe("timestamp_out_of_tolerance");
    expect(verify(sign({ timestamp: NOW_S + 300 })).timestamp).toBe(NOW_S + 300);
  });

  it("accepts any of several v1 signatures (Stripe rolling an endpoint secret)", () => {
    const other = sign({ secret: "whsec_previous_secret_unknown_here" });
    const ours = sign();
    const combined = `t=${NOW_S},${other.split(",")[1]},${ours.split(",")[1]}`;
    expect(verify(combined).secretIndex).toBe(0);
  });

  it("accepts both the old and the new secret during our rotation, and only the new one after", () => {
    const fresh = `whsec_${randomBytes(24).toString("hex")}`;
    const overlap = { secrets: `${secret}\n${fresh}\n` };
    expect(verify(sign(), payload, overlap).secretIndex).toBe(0);
    expect(verify(sign({ secret: fresh }), payload, overlap).secretIndex).toBe(1);
    expect(verify(sign({ secret: fresh }), payload, { secrets: [fresh] }).secretIndex).toBe(0);
    expect(rejection(() => verify(sign(), payload, { secrets: [fresh] })).reason).toBe("signature_mismatch");
  });

  it("refuses missing, duplicated and garbled headers", () => {
    const good = sign();
    const v1 = good.split(",")[1]!;
    expect(rejection(() => verify(undefined)).reason).toBe("missing_header");
    expect(rejection(() => verify("")).reason).toBe("missing_header");
    expect(rejection(() => verify([good, good])).reason).toBe("malformed_header");
    for (const garbled of ["garbage", `t=abc,${v1}`, v1, `t=${NOW_S}`, `t=${NOW_S},v1=zz`, `t=${NOW_S},t=${NOW_S},${v1}`, `t=${NOW_S},v0=${v1.slice(3)}`, `t=${NOW_S},v1=${v1.slice(3, 40)}`]) {
      expect(rejection(() => verify(garbled)).reason).toBe("malformed_header");
    }
  });

  it("treats a missing secret as a configuration error, not as a client's bad signature", () => {
    expect(() => verify(sign(), payload, { secrets: " \n" })).toThrow(RangeError);
  });
});

const ENDPOINT_SECRET = `whsec_${randomBytes(24).toString("hex")}`;
process.env.RAMPART_SECRET_TEST_STRIPE_REPLAY = ENDPOINT_SECRET;

describe.each(testModes())("Stripe replay over HTTP (%s)", (mode) => {
  let t: TestApp;
  const seen: WebhookEvent[] = [];

  beforeAll(async () => {
    t = await createTestApp(mode, {
      env: { WEBHOOK_ENDPOINTS: "payments=stripe:test-stripe-replay", WEBHOOK_POLL_INTERVAL_MS: "20" },
      configure: (app) => void app.webhooks.on("payments", (e) => void seen.push(e)),
    });
  });
  afterAll(() => t?.close());

  const send = (body: string, headers: Record<string, string>) => t.app.inject({ method: "POST", url: "/v1/webhooks/payments", payload: body, headers });
  const rows = async (eventId: string) => (await t.runtime.db.kysely.selectFrom("rampart_webhook_events").select(["id", "event_type"]).where("event_id", "=", eventId).execute()).length;

  it("acknowledges a capture replayed with altered unsigned headers as a duplicate: stored and dispatched once, with its signed type", async () => {
    const eventId = `evt_${randomBytes(8).toString("hex")}`;
    const body = JSON.stringify({ id: eventId, object: "event", type: "payment_intent.succeeded", data: { object: { amount: 4200 } } });
    const nowS = Math.floor(Date.now() / 1000);
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: ENDPOINT_SECRET, timestamp: nowS });
    const headers = { "content-type": "application/json", "stripe-signature": header };
    expect((await send(body, headers)).json().data).toEqual({ received: true, duplicate: false });

    const foreign = stripe.webhooks.generateTestHeaderString({ payload: body, secret: "whsec_someone_else", timestamp: nowS }).split(",")[1]!;
    const replays = [
      headers,
      // Entries the verifier skips or that match no secret, around the genuine one.
      { ...headers, "stripe-signature": `${header},v0=${"0".repeat(64)},${foreign}` },
      { ...headers, "stripe-signature": `t=${nowS},${foreign},${header.split(",")[1]}` },
      // Other providers' id and type headers mean nothing here.
      { ...headers, "x-github-delivery": randomUUID(), "x-github-event": "charge.refunded", "webhook-id": `msg_${randomUUID()}` },
      { ...headers, "content-type": "text/plain" },
      // Stripe's own retry: the same event re-signed at a later time.
      { ...headers, "stripe-signature": stripe.webhooks.generateTestHeaderString({ payload: body, secret: ENDPOINT_SECRET, timestamp: nowS + 1 }) },
    ];
    for (const replay of replays) {
      const res = await send(body, replay);
      expect(res.statusCode).toBe(200);
      expect(res.json().data).toEqual({ received: true, duplicate: true });
    }
    await vi.waitFor(() => expect(seen.filter((e) => e.eventId === eventId)).toHaveLength(1));
    await t.app.webhooks.drain();
    expect(await rows(eventId)).toBe(1);
    expect(seen.filter((e) => e.eventId === eventId)).toEqual([expect.objectContaining({ type: "payment_intent.succeeded", deliveryId: null })]);
  });
});
