/**
 * Threat: a forged, tampered-with or replayed Standard Webhooks delivery is
 * accepted as genuine. Deliveries are signed with the `standardwebhooks`
 * reference package; any change to the id, the timestamp or the body, a
 * timestamp outside 300 s either way, or a signature by a secret that is not
 * active must be refused with the one WEBHOOK_SIGNATURE_INVALID error. A
 * capture replayed inside the window with its unsigned parts changed (extra
 * signature entries, another provider's id and event headers) must be
 * acknowledged as a duplicate and neither stored nor dispatched again: the
 * key is the signed `webhook-id`.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { verifyStandard, type VerifyOptions, type WebhookEvent } from "../../src/webhooks/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { reason } from "./helpers.js";

const NOW = Date.UTC(2026, 0, 1, 12);
const NOW_S = NOW / 1000;
const newSecret = () => `whsec_${randomBytes(24).toString("base64")}`;
const secret = newSecret();
const payload = JSON.stringify({ type: "invoice.paid", data: { amount: 4200, note: "naïve ✓" } });
const ID = "msg_2LJfHDsBlmCmKzDpLBKxKo9IO8S";

function sign(opts: { id?: string; timestamp?: number; body?: string; secret?: string } = {}): Record<string, string> {
  const id = opts.id ?? ID;
  const ts = opts.timestamp ?? NOW_S;
  return {
    "webhook-id": id,
    "webhook-timestamp": String(ts),
    "webhook-signature": new Webhook(opts.secret ?? secret).sign(id, new Date(ts * 1000), opts.body ?? payload),
  };
}

function verify(headers: Record<string, string | undefined>, body = payload, options: Partial<VerifyOptions> = {}) {
  return verifyStandard({ rawBody: Buffer.from(body, "utf8"), headers }, { secrets: secret, now: NOW, ...options });
}


describe("Standard Webhooks verifier", () => {
  it("accepts a delivery signed by the standardwebhooks package, returning its id", () => {
    expect(verify(sign())).toEqual({ provider: "standard", id: ID, deliveryId: ID, timestamp: NOW_S, secretIndex: 0 });
  });

  it("refuses a changed body, id or timestamp", () => {
    const headers = sign();
    expect(reason(() => verify(headers, payload.replace("4200", "4201")))).toBe("signature_mismatch");
    expect(reason(() => verify({ ...headers, "webhook-id": "msg_other" }))).toBe("signature_mismatch");
    expect(reason(() => verify({ ...headers, "webhook-timestamp": String(NOW_S - 1) }))).toBe("signature_mismatch");
  });

  it("refuses a signature made with another secret", () => {
    expect(reason(() => verify(sign({ secret: newSecret() })))).toBe("signature_mismatch");
  });

  it("refuses stale and future timestamps beyond 300 s, accepts the edges", () => {
    expect(reason(() => verify(sign({ timestamp: NOW_S - 301 })))).toBe("timestamp_out_of_tolerance");
    expect(reason(() => verify(sign({ timestamp: NOW_S + 301 })))).toBe("timestamp_out_of_tolerance");
    expect(verify(sign({ timestamp: NOW_S - 300 })).timestamp).toBe(NOW_S - 300);
    expect(verify(sign({ timestamp: NOW_S + 300 })).timestamp).toBe(NOW_S + 300);
  });

  it("accepts a matching v1 among several entries, skipping other versions", () => {
    const headers = sign();
    const foreign = sign({ secret: newSecret() })["webhook-signature"];
    const withOthers = `v1a,${randomBytes(64).toString("base64")} ${foreign} ${headers["webhook-signature"]}`;
    expect(verify({ ...headers, "webhook-signature": withOthers }).secretIndex).toBe(0);
  });

  it("verifies with the old and the new secret during rotation, and only the new one after", () => {
    const fresh = newSecret();
    expect(verify(sign(), payload, { secrets: `${fresh}\n${secret}` }).secretIndex).toBe(1);
    expect(verify(sign({ secret: fresh }), payload, { secrets: `${fresh}\n${secret}` }).secretIndex).toBe(0);
    expect(reason(() => verify(sign(), payload, { secrets: fresh }))).toBe("signature_mismatch");
  });

  it("refuses missing and garbled headers", () => {
    const headers = sign();
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      expect(reason(() => verify({ ...headers, [name]: undefined }))).toBe("missing_header");
    }
    expect(reason(() => verify({ ...headers, "webhook-timestamp": "soon" }))).toBe("malformed_header");
    expect(reason(() => verify({ ...headers, "webhook-timestamp": "1.5e9" }))).toBe("malformed_header");
    expect(reason(() => verify({ ...headers, "webhook-signature": "nonsense" }))).toBe("malformed_header");
    expect(reason(() => verify({ ...headers, "webhook-signature": "v2,abcd" }))).toBe("malformed_header");
    expect(reason(() => verify({ ...headers, "webhook-signature": "v1,***" }))).toBe("malformed_header");
    expect(reason(() => verify({ ...headers, "webhook-id": "has space" }))).toBe("malformed_header");
  });

  it("accepts exactly what the reference verifier accepts for a fresh delivery", () => {
    // Cross-check on real time: the package verifies against Date.now().
    const ts = Math.floor(Date.now() / 1000);
    const headers = sign({ timestamp: ts });
    expect(() => new Webhook(secret).verify(payload, headers)).not.toThrow();
    expect(verify(headers, payload, { now: Date.now() }).id).toBe(ID);
  });

  it("treats a secret that is not whsec_<base64> as a configuration error", () => {
    expect(() => verify(sign(), payload, { secrets: "whsec_not base64!" })).toThrow(RangeError);
  });
});

const ENDPOINT_SECRET = newSecret();
process.env.RAMPART_SECRET_TEST_STANDARD_REPLAY = ENDPOINT_SECRET;

describe.each(testModes())("Standard Webhooks replay over HTTP (%s)", (mode) => {
  let t: TestApp;
  const seen: WebhookEvent[] = [];

  beforeAll(async () => {
    t = await createTestApp(mode, {
      env: { WEBHOOK_ENDPOINTS: "events=standard:test-standard-replay", WEBHOOK_POLL_INTERVAL_MS: "20" },
      configure: (app) => void app.webhooks.on("events", (e) => void seen.push(e)),
    });
  });
  afterAll(() => t?.close());

  const send = (body: string, headers: Record<string, string>) => t.app.inject({ method: "POST", url: "/v1/webhooks/events", payload: body, headers: { "content-type": "application/json", ...headers } });

  it("acknowledges a capture replayed with altered unsigned headers as a duplicate, and refuses it under another webhook-id", async () => {
    const id = `msg_${randomBytes(10).toString("hex")}`;
    const body = JSON.stringify({ type: "invoice.paid", data: { amount: 4200 } });
    const headers = sign({ id, timestamp: Math.floor(Date.now() / 1000), body, secret: ENDPOINT_SECRET });
    expect((await send(body, headers)).json().data).toEqual({ received: true, duplicate: false });

    const foreign = sign({ id, body, secret: newSecret() })["webhook-signature"];
    const replays = [
      headers,
      { ...headers, "webhook-signature": `v1a,${randomBytes(64).toString("base64")} ${foreign} ${headers["webhook-signature"]}` },
      { ...headers, "x-github-delivery": randomUUID(), "x-github-event": "invoice.voided" },
    ];
    for (const replay of replays) {
      const res = await send(body, replay);
      expect(res.statusCode).toBe(200);
      expect(res.json().data).toEqual({ received: true, duplicate: true });
    }
    // The id is signed: a new one breaks the signature instead of making a new event.
    const renamed = await send(body, { ...headers, "webhook-id": `msg_${randomBytes(10).toString("hex")}` });
    expect(renamed.statusCode).toBe(400);
    expect(renamed.json().code).toBe("WEBHOOK_SIGNATURE_INVALID");

    await vi.waitFor(() => expect(seen.filter((e) => e.eventId === id)).toHaveLength(1));
    await t.app.webhooks.drain();
    expect(await t.runtime.db.kysely.selectFrom("rampart_webhook_events").select("id").where("provider", "=", "standard").execute()).toHaveLength(1);
    expect(seen).toEqual([expect.objectContaining({ eventId: id, deliveryId: id, type: "invoice.paid" })]);
  });
});
