/**
 * Threats:
 * - a forged or tampered-with GitHub delivery is accepted as genuine (say, a
 *   fake `push` triggering a deployment);
 * - a captured genuine delivery is replayed with a new `X-GitHub-Delivery` or
 *   another `X-GitHub-Event`, neither of which GitHub signs, and is stored and
 *   dispatched again (a second deployment, a second credit), now or long
 *   after, once the event's row has been purged by retention.
 * The expected signatures come from GitHub's documented test values and from
 * node:crypto following the documented algorithm, never from the verifier
 * under test; the replays go through the composed server over HTTP.
 */
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { purgeExpired } from "../../src/jobs/retention.js";
import { verifyGithub, type VerifyOptions, type WebhookEvent } from "../../src/webhooks/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { reason } from "./helpers.js";

const hub = (secret: string, body: string) => `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;

function verify(headers: Record<string, string | undefined>, body: string, options: VerifyOptions) {
  return verifyGithub({ rawBody: Buffer.from(body, "utf8"), headers }, options);
}


describe("GitHub verifier", () => {
  it("accepts GitHub's documented example (docs.github.com, Validating webhook deliveries)", () => {
    const headers = { "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" };
    expect(verify(headers, "Hello, World!", { secrets: "It's a Secret to Everybody" })).toEqual({ provider: "github", id: null, deliveryId: null, timestamp: null, secretIndex: 0 });
    expect(reason(() => verify(headers, "Hello, World?", { secrets: "It's a Secret to Everybody" }))).toBe("signature_mismatch");
  });

  const secret = randomBytes(20).toString("hex");
  const body = JSON.stringify({ action: "opened", issue: { number: 1347, title: "Ünïcode" } }, null, 2);
  const delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

  it("accepts a JSON delivery and returns X-GitHub-Delivery as its unsigned deliveryId, never as its id", () => {
    const v = verify({ "x-hub-signature-256": hub(secret, body), "x-github-delivery": delivery }, body, { secrets: secret });
    expect(v).toEqual({ provider: "github", id: null, deliveryId: delivery, timestamp: null, secretIndex: 0 });
  });

  it("refuses a tampered body or another secret's signature", () => {
    expect(reason(() => verify({ "x-hub-signature-256": hub(secret, body) }, body.replace("1347", "1348"), { secrets: secret }))).toBe("signature_mismatch");
    expect(reason(() => verify({ "x-hub-signature-256": hub("not-the-secret", body) }, body, { secrets: secret }))).toBe("signature_mismatch");
  });

  it("verifies with the old and the new secret during rotation", () => {
    const fresh = randomBytes(20).toString("hex");
    const both = { secrets: [secret, fresh] };
    expect(verify({ "x-hub-signature-256": hub(secret, body) }, body, both).secretIndex).toBe(0);
    expect(verify({ "x-hub-signature-256": hub(fresh, body) }, body, both).secretIndex).toBe(1);
    expect(reason(() => verify({ "x-hub-signature-256": hub(secret, body) }, body, { secrets: fresh }))).toBe("signature_mismatch");
  });

  it("refuses a missing header, the legacy SHA-1 header alone, and garbled values", () => {
    const sha1 = `sha1=${createHmac("sha1", secret).update(body).digest("hex")}`;
    expect(reason(() => verify({ "x-hub-signature": sha1 }, body, { secrets: secret }))).toBe("missing_header");
    const good = hub(secret, body);
    for (const garbled of [sha1, good.slice(0, -2), good.replace("sha256=", "sha512="), good.replace("sha256=", ""), `${good}00`]) {
      expect(reason(() => verify({ "x-hub-signature-256": garbled }, body, { secrets: secret }))).toBe("malformed_header");
    }
  });
});

const HOOK_SECRET = randomBytes(20).toString("hex");
process.env.RAMPART_SECRET_TEST_GITHUB_REPLAY = HOOK_SECRET;
const DAY = 86_400_000;

describe.each(testModes())("GitHub replay over HTTP (%s)", (mode) => {
  let t: TestApp;
  const seen: WebhookEvent[] = [];

  beforeAll(async () => {
    t = await createTestApp(mode, {
      env: { WEBHOOK_ENDPOINTS: "ci=github:test-github-replay", WEBHOOK_POLL_INTERVAL_MS: "20" },
      configure: (app) => void app.webhooks.on("ci", (e) => void seen.push(e)),
    });
  });
  afterAll(() => t?.close());

  // A push as GitHub sends it: the event name and the delivery id are headers, outside the signed body.
  const capture = () => {
    const body = JSON.stringify({ ref: "refs/heads/main", after: randomBytes(20).toString("hex"), repository: { full_name: "acme/shop" } }, null, 2);
    return { body, headers: { "content-type": "application/json", "x-hub-signature-256": hub(HOOK_SECRET, body), "x-github-event": "push", "x-github-delivery": randomUUID() } };
  };
  const send = (body: string, headers: Record<string, string>) => t.app.inject({ method: "POST", url: "/v1/webhooks/ci", payload: body, headers });
  const handledBodies = (body: string) => seen.filter((e) => e.payload.toString("utf8") === body);
  const githubRows = async () => Number((await t.runtime.db.kysely.selectFrom("rampart_webhook_events").select((eb) => eb.fn.countAll().as("n")).where("provider", "=", "github").executeTakeFirstOrThrow()).n);
  const settle = async (body: string) => {
    await vi.waitFor(() => expect(handledBodies(body)).toHaveLength(1));
    await t.app.webhooks.drain();
  };

  it("acknowledges a capture replayed with a new X-GitHub-Delivery or another X-GitHub-Event as a duplicate: stored and dispatched once", async () => {
    const { body, headers } = capture();
    const before = await githubRows();
    const first = await send(body, headers);
    expect(first.statusCode).toBe(200);
    expect(first.json().data).toEqual({ received: true, duplicate: false });

    const { "x-github-delivery": _delivery, ...withoutDelivery } = headers;
    const replays = [
      { ...headers, "x-github-delivery": randomUUID() },
      { ...headers, "x-github-event": "release" },
      { ...headers, "x-github-delivery": randomUUID(), "x-github-event": "deployment" },
      withoutDelivery,
    ];
    for (const replay of replays) {
      const res = await send(body, replay);
      expect(res.statusCode).toBe(200);
      expect(res.json().data).toEqual({ received: true, duplicate: true });
    }
    await settle(body);
    expect(await githubRows()).toBe(before + 1);
    // What the handler saw is the first delivery's, keyed by the signed bytes alone.
    const [event] = handledBodies(body);
    expect(event).toMatchObject({ type: "push", deliveryId: headers["x-github-delivery"], eventId: `sha256:${createHash("sha256").update(body).digest("hex")}` });
  });

  it("still refuses a replay once retention has purged the event's row: the capture verifies forever", async () => {
    const { body, headers } = capture();
    expect((await send(body, headers)).json().data.duplicate).toBe(false);
    await settle(body);
    const k = t.runtime.db.kysely;
    const eventId = `sha256:${createHash("sha256").update(body).digest("hex")}`;
    // Age the processed row past RETENTION_WEBHOOK_EVENTS_DAYS and let the retention job delete it.
    await k.updateTable("rampart_webhook_events").set({ received_at: new Date(t.runtime.clock.now() - (t.runtime.config.retentionWebhookEventsDays + 1) * DAY) }).where("event_id", "=", eventId).execute();
    expect((await purgeExpired(t.runtime)).webhookEvents).toBeGreaterThanOrEqual(1);
    expect(await k.selectFrom("rampart_webhook_events").select("id").where("event_id", "=", eventId).executeTakeFirst()).toBeUndefined();

    const replay = await send(body, { ...headers, "x-github-delivery": randomUUID(), "x-github-event": "release" });
    expect(replay.statusCode).toBe(200);
    expect(replay.json().data).toEqual({ received: true, duplicate: true });
    await t.app.webhooks.drain();
    expect(await k.selectFrom("rampart_webhook_events").select("id").where("event_id", "=", eventId).executeTakeFirst()).toBeUndefined();
    expect(handledBodies(body)).toHaveLength(1);
  });

  it("answers 20 concurrent copies under 20 different delivery ids with one stored event", async () => {
    const { body, headers } = capture();
    const before = await githubRows();
    const results = await Promise.all(Array.from({ length: 20 }, () => send(body, { ...headers, "x-github-delivery": randomUUID() })));
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect(results.filter((r) => r.json().data.duplicate === false)).toHaveLength(1);
    await settle(body);
    expect(await githubRows()).toBe(before + 1);
    expect(handledBodies(body)).toHaveLength(1);
  });

  it("refuses the captured signature on a body changed by one byte", async () => {
    const { body, headers } = capture();
    const res = await send(body.replace("acme/shop", "acme/shoq"), headers);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("WEBHOOK_SIGNATURE_INVALID");
  });
});
