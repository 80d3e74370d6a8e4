/**
 * Inbox rows written before migration 0015 (GitHub rows keyed by their
 * unsigned `X-GitHub-Delivery`, or by the body's SHA-256 when the header was
 * missing) keep working after it: they are listed with their delivery id,
 * dispatched, and a row already keyed by the digest stops later replays.
 * The migration is taken down and up again around rows written as the old
 * inbox wrote them, in both storage modes.
 */
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as m0015 from "../../src/db/migrations/0015-webhook-dedupe.js";
import { payloadContext } from "../../src/webhooks/inbox.js";
import type { WebhookEvent } from "../../src/webhooks/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";

const SECRET = randomBytes(20).toString("hex");
process.env.RAMPART_SECRET_TEST_GITHUB_UPGRADE = SECRET;
const digest = (body: string) => `sha256:${createHash("sha256").update(body).digest("hex")}`;

describe.each(testModes())("webhook inbox across migration 0015 (%s)", (mode) => {
  let t: TestApp;
  const seen: WebhookEvent[] = [];
  const guid = randomUUID();
  const keyedByDelivery = JSON.stringify({ action: "opened", number: 1 });
  const keyedByDigest = JSON.stringify({ action: "opened", number: 2 });
  const rowIds = { delivery: randomUUID(), digest: randomUUID() };

  beforeAll(async () => {
    // No polling: the test dispatches with drain() once the schema is back.
    t = await createTestApp(mode, {
      env: { WEBHOOK_ENDPOINTS: "ci=github:test-github-upgrade", WEBHOOK_POLL_INTERVAL_MS: "3600000" },
      configure: (app) => void app.webhooks.on("ci", (e) => void seen.push(e)),
    });
    // Migrations run on an untyped handle (the schema they change is not the current one).
    const k = t.runtime.db.kysely as unknown as Kysely<unknown>;
    await m0015.down(k);
    const at = new Date(t.runtime.clock.now());
    for (const [id, eventId, body] of [[rowIds.delivery, guid, keyedByDelivery], [rowIds.digest, digest(keyedByDigest), keyedByDigest]] as const) {
      const payload = await t.runtime.crypto.encrypt(Buffer.from(body), payloadContext(id));
      // The columns of 0006, as the old inbox filled them.
      await sql`insert into rampart_webhook_events (id, endpoint, provider, event_id, event_type, state, attempts, next_attempt_at, payload_enc, received_at)
        values (${id}, 'ci', 'github', ${eventId}, 'issues', 'received', 0, ${at}, ${payload}, ${at})`.execute(k);
    }
    await m0015.up(k);
  });
  afterAll(() => t?.close());

  const send = (body: string) =>
    t.app.inject({
      method: "POST",
      url: "/v1/webhooks/ci",
      payload: body,
      headers: { "content-type": "application/json", "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`, "x-github-event": "issues", "x-github-delivery": randomUUID() },
    });

  it("lists and dispatches old rows, the delivery header kept as deliveryId", async () => {
    const old = await t.app.webhooks.inbox.get(rowIds.delivery);
    expect(old).toMatchObject({ eventId: guid, deliveryId: guid, type: "issues", state: "received" });
    expect(await t.app.webhooks.inbox.get(rowIds.digest)).toMatchObject({ eventId: digest(keyedByDigest), deliveryId: null });
    await t.app.webhooks.drain();
    expect(seen.map((e) => e.id).sort()).toEqual([rowIds.delivery, rowIds.digest].sort());
    expect(seen.find((e) => e.id === rowIds.delivery)?.payload.toString()).toBe(keyedByDelivery);
  });

  it("treats a delivery of a body an old row was keyed by as a duplicate of that row, then remembers it", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await send(keyedByDigest);
      expect(res.statusCode).toBe(200);
      expect(res.json().data).toEqual({ received: true, duplicate: true });
    }
    const record = await t.runtime.db.kysely.selectFrom("rampart_webhook_dedupe").selectAll().where("dedupe_key", "=", digest(keyedByDigest)).executeTakeFirstOrThrow();
    expect(record.event_row_id).toBe(rowIds.digest);
    await t.app.webhooks.drain();
    expect(seen.filter((e) => e.payload.toString() === keyedByDigest)).toHaveLength(1);
  });
});
