/**
 * SMTP delivery behind its `smtp` upstream, against a real local SMTP server
 * (smtp-server) that hangs, answers "try again later" (451) or recovers:
 * a send is cut off at the deadline with its connection closed, never
 * retried (sending is not idempotent), repeated failures open the circuit
 * breaker (sends refused without connecting), a 550 for one recipient does
 * not count, and the outbox keeps a message's attempts while the breaker is
 * open and delivers it once the server is back.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isRampartError } from "../../src/errors/index.js";
import { createMailTransport, Outbox, SMTP_UPSTREAM, smtpUpstreamOptions, type MailTransport } from "../../src/mail/index.js";
import { createUpstream, upstreamFailure, type Upstream, type UpstreamOptions } from "../../src/resilience/index.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { SmtpPeer } from "./smtp-peer.js";
import { failure, sleep } from "../helpers/async.js";

// Long enough that a loaded machine (the suite runs two workers on two cores) still connects and
// gets its greeting or 451 well inside it; the hanging peer shows the deadline itself.
const TIMEOUT_MS = 1_000;
const HALF_OPEN_MS = 300;
const message = { to: "alice@example.com", subject: "Reset your password", text: "https://id.example.com/reset-password?token=abc" };
let peer: SmtpPeer;
let rt: TestRuntime;
let env: TestEnv;

beforeAll(async () => {
  peer = await SmtpPeer.start();
  env = await createTestEnv("embedded");
  rt = await createTestRuntime(env);
});
afterAll(async () => {
  await rt.runtime.close();
  await env.cleanup();
  await peer.close();
});
beforeEach(() => {
  peer.mode = "ok";
  peer.connections = 0;
  peer.abandoned = 0;
  peer.received.length = 0;
});

function upstream(overrides: Partial<UpstreamOptions> = {}): Upstream {
  return createUpstream(SMTP_UPSTREAM, { ...smtpUpstreamOptions(), timeoutMs: TIMEOUT_MS, breaker: { kind: "consecutive", failures: 3, halfOpenAfterMs: HALF_OPEN_MS }, ...overrides });
}

function transport(u: Upstream): MailTransport {
  return createMailTransport({ smtpUrl: peer.url, from: "rampart@example.com", log: rt.runtime.log, upstream: u });
}

describe("SMTP through the smtp upstream", () => {
  it("(smtp-server peer) a server that never greets is cut off at the deadline, tried once, its connection closed", async () => {
    peer.mode = "hang";
    const u = upstream();
    const t = transport(u);
    const started = performance.now();
    const err = await failure(t.send(message));
    const elapsed = performance.now() - started;
    expect(isRampartError(err) && err.code).toBe("SERVICE_UNAVAILABLE");
    expect(upstreamFailure(err)?.kind).toBe("timeout");
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1_000);
    expect(peer.connections).toBe(1);
    expect(await peer.abandonedAtLeast(1)).toBe(1);
    expect(u.stats()).toMatchObject({ timeouts: 1, retries: 0 });
    t.close();
  });

  it("(smtp-server peer) repeated 451s open the breaker: sends are refused without connecting, until a trial send after the cooldown closes it", async () => {
    peer.mode = "busy";
    const u = upstream();
    const t = transport(u);
    for (let i = 0; i < 3; i++) expect((await failure(t.send(message)) as { responseCode?: number }).responseCode).toBe(451);
    // Not idempotent: one connection per send, no retry.
    expect(peer.connections).toBe(3);
    expect(u.breakerState).toBe("open");

    expect(upstreamFailure(await failure(t.send(message)))?.kind).toBe("breaker_open");
    expect(peer.connections).toBe(3);

    peer.mode = "ok";
    await sleep(HALF_OPEN_MS + 50);
    await t.send(message);
    expect(peer.received).toEqual([{ to: ["alice@example.com"] }]);
    expect(peer.connections).toBe(4);
    expect(u.breakerState).toBe("closed");
    t.close();
  });

  it("(smtp-server peer) a permanent 550 for the recipient is an answer: the breaker stays closed", async () => {
    peer.mode = "reject";
    const u = upstream();
    const t = transport(u);
    for (let i = 0; i < 4; i++) expect((await failure(t.send(message)) as { responseCode?: number }).responseCode).toBe(550);
    expect(peer.connections).toBe(4);
    expect(u.breakerState).toBe("closed");
    t.close();
  });
});

describe("the outbox and an open SMTP breaker", () => {
  it("(smtp-server peer) a send refused by the open breaker costs the message no attempt; it is delivered once the server is back", async () => {
    const { db } = rt.runtime;
    await db.kysely.insertInto("rampart_users").values({ id: "u-outbox-breaker" }).execute();
    let now = Date.now();
    const u = upstream({ breaker: { kind: "consecutive", failures: 2, halfOpenAfterMs: HALF_OPEN_MS } });
    const t = transport(u);
    const outbox = new Outbox({ db: db.kysely, keyring: rt.runtime.crypto, transport: t, log: rt.runtime.log, now: () => now });
    const row = await outbox.prepare("u-outbox-breaker", "password-reset", message);
    await outbox.enqueue(db.kysely, row);
    const attempts = async () => (await db.kysely.selectFrom("rampart_outbox").select(["attempts", "sent_at"]).where("id", "=", row.id).executeTakeFirstOrThrow());

    peer.mode = "busy";
    await outbox.kick();
    now += 3_000; // past the outbox's own backoff after one attempt (2 s)
    await outbox.kick();
    expect(await attempts()).toMatchObject({ attempts: 2, sent_at: null });
    expect(u.breakerState).toBe("open");

    now += 5_000; // due again; the breaker refuses
    await outbox.kick();
    expect(u.stats().rejections.breakerOpen).toBe(1);
    expect(await attempts()).toMatchObject({ attempts: 2, sent_at: null });
    expect(peer.connections).toBe(2);

    peer.mode = "ok";
    await sleep(HALF_OPEN_MS + 50);
    expect(await outbox.kick()).toBe(1);
    expect(await attempts()).toMatchObject({ attempts: 3, sent_at: expect.any(Date) });
    expect(peer.received).toEqual([{ to: ["alice@example.com"] }]);
    t.close();
  });
});
