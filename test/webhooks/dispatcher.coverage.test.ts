/**
 * The dispatcher's life cycle as a host drives it, in both storage modes: a
 * handler removed with the function `on` returned is not called again; a
 * handler that throws something other than an Error fails the attempt with
 * what it threw; polling started twice runs one timer; a closed dispatcher
 * neither polls nor drains.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payloadContext } from "../../src/webhooks/inbox.js";
import { WebhookDispatcher, type WebhookEvent } from "../../src/webhooks/index.js";
import { sleep } from "../helpers/async.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";

describe.each(testModes())("webhook dispatcher life cycle (%s)", (mode) => {
  let t: TestApp;
  const dispatchers: WebhookDispatcher[] = [];
  beforeAll(async () => {
    // The app's own dispatcher polls hourly: the rows stored here are left to the dispatchers under test.
    t = await createTestApp(mode, { env: { WEBHOOK_POLL_INTERVAL_MS: "3600000" } });
  });
  afterAll(async () => {
    for (const d of dispatchers) await d.close();
    await t?.close();
  });

  /** A dispatcher of its own on the runtime's stores (its own upstream registry), for endpoint `endpoint` only. */
  function dispatcher(): WebhookDispatcher {
    const d = new WebhookDispatcher({
      db: t.runtime.db.kysely,
      crypto: t.runtime.crypto,
      events: t.runtime.events,
      log: t.runtime.log,
      now: () => Date.now(),
      maxAttempts: 3,
      retryBaseMs: 60_000,
      retryMaxMs: 600_000,
      handlerTimeoutMs: 5_000,
    });
    dispatchers.push(d);
    return d;
  }

  /** Stores a received event of a fresh endpoint, as the inbox does; returns its endpoint and row id. */
  async function received(body: string): Promise<{ endpoint: string; id: string }> {
    const endpoint = `ep-${randomUUID().slice(0, 8)}`;
    const id = randomUUID();
    const at = new Date(Date.now() - 1_000);
    const payload = await t.runtime.crypto.encrypt(Buffer.from(body), payloadContext(id));
    await t.runtime.db.kysely
      .insertInto("rampart_webhook_events")
      .values({ id, endpoint, provider: "standard", event_id: `msg_${id}`, event_type: "test.event", state: "received", attempts: 0, next_attempt_at: at, locked_until: null, last_error: null, payload_enc: payload, received_at: at, processed_at: null })
      .execute();
    return { endpoint, id };
  }
  const row = (id: string) => t.runtime.db.kysely.selectFrom("rampart_webhook_events").select(["state", "attempts", "last_error"]).where("id", "=", id).executeTakeFirstOrThrow();

  it("does not call a handler removed with the function `on` returned; removing it twice is harmless", async () => {
    const { endpoint, id } = await received('{"n":1}');
    const d = dispatcher();
    const removedCalls: WebhookEvent[] = [];
    const keptCalls: WebhookEvent[] = [];
    const off = d.on(endpoint, (e) => void removedCalls.push(e));
    d.on(endpoint, (e) => void keptCalls.push(e));
    off();
    off();
    expect(await d.drain()).toBe(1);
    expect(removedCalls).toEqual([]);
    expect(keptCalls.map((e) => [e.id, e.payload.toString()])).toEqual([[id, '{"n":1}']]);
    expect(await row(id)).toEqual({ state: "processed", attempts: 1, last_error: null });
  });

  it("fails the attempt of a handler that throws a non-Error, recording what it threw", async () => {
    const { endpoint, id } = await received('{"n":2}');
    const d = dispatcher();
    d.on(endpoint, () => {
      throw "card service said no";
    });
    await d.drain();
    expect(await row(id)).toEqual({ state: "failed", attempts: 1, last_error: "card service said no" });
  });

  it("polls with one timer when started twice, and neither polls nor drains once closed", async () => {
    const first = await received('{"n":3}');
    const polling = dispatcher();
    const calls: string[] = [];
    polling.on(first.endpoint, (e) => void calls.push(e.id));
    polling.start(20);
    polling.start(20);
    for (let i = 0; i < 50 && calls.length === 0; i++) await sleep(20);
    expect(calls).toEqual([first.id]);
    await polling.close();

    const second = await received('{"n":4}');
    const closed = dispatcher();
    closed.on(second.endpoint, (e) => void calls.push(e.id));
    await closed.close();
    closed.start(20);
    closed.kick();
    await sleep(150);
    expect(calls).toEqual([first.id]);
    expect(await row(second.id)).toMatchObject({ state: "received", attempts: 0 });
  });
});
