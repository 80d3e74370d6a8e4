/**
 * The app's security events: defined next to the built-in catalogue
 * (validated, named on refusal), logged and counted like built-ins, appended
 * to the tamper-evident audit log when marked audited (the chain still
 * verifies), and an emit of a name nobody defined throws at once.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventRegistry, securityEvents } from "../../src/events/index.js";
import { ok, rampart, type Runtime } from "../../src/index.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import type { LogCapture } from "../helpers/logs.js";
import { createTestRuntime } from "../helpers/runtime.js";

const TRACE = "0af7651916cd43dd8448eb211c80319c";

describe("EventRegistry", () => {
  it("holds the built-in catalogue and the app's events", () => {
    const registry = new EventRegistry({ "payment.refunded": { audited: true, level: "warn", description: "A payment was refunded." } });
    expect(registry.names()).toEqual([...Object.keys(securityEvents), "payment.refunded"]);
    expect(registry.spec("payment.refunded")).toEqual({ audit: true, level: "warn", description: "A payment was refunded." });
    expect(registry.spec("auth.locked")).toEqual(securityEvents["auth.locked"]);
    expect(() => registry.spec("payment.lost")).toThrow("unknown security event 'payment.lost'");
  });

  it.each([
    [{ "Payment.Refunded": { audited: true } }, "'Payment.Refunded' is not an event name"],
    [{ refunded: { audited: true } }, "'refunded' is not an event name"],
    [{ "auth.locked": { audited: false } }, "'auth.locked' is a built-in event"],
    [{ "payment.refunded": { audited: "yes" } }, "events.payment.refunded: expected { audited: boolean }"],
    [{ "payment.refunded": { audited: true, level: "error" } }, "events.payment.refunded.level: expected \"info\" or \"warn\", instead got 'error'"],
  ])("refuses %j naming it", (events, message) => {
    expect(() => new EventRegistry(events as never)).toThrow(message);
  });

  it("defines all or nothing, and the same event again only with the same spec", () => {
    const registry = new EventRegistry();
    expect(() => registry.define({ "order.placed": { audited: false }, "BAD": { audited: false } })).toThrow("'BAD'");
    expect(registry.has("order.placed")).toBe(false);
    registry.define({ "order.placed": { audited: false } });
    registry.define({ "order.placed": { audited: false } });
    expect(() => registry.define({ "order.placed": { audited: true } })).toThrow("'order.placed' is already defined differently");
  });
});

describe.each(testModes())("app events on a runtime (%s)", (mode) => {
  let env: TestEnv;
  let runtime: Runtime;
  let logs: LogCapture;
  let app: FastifyInstance;
  beforeAll(async () => {
    env = await createTestEnv(mode, { METRICS_ENABLED: "true" });
    ({ runtime, logs } = await createTestRuntime(env));
    app = Fastify();
    await app.register(rampart, {
      runtime,
      routes: { identity: false },
      events: { "payment.refunded": { audited: true }, "note.viewed": { audited: false, level: "info" } },
    });
    app.post("/refunds", async (request) => {
      await app.rampart.events.emit("payment.refunded" as never, { actor: { type: "system" }, target: "payment:p1", data: { amount: 500 } });
      return ok(request, { refunded: true });
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await runtime.close();
    await env.cleanup();
  });

  it("appends an audited app event to the hash chain, with the request's trace id, and the chain verifies", async () => {
    const res = await app.inject({ method: "POST", url: "/refunds", headers: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` } });
    expect(res.statusCode).toBe(200);
    const { entries } = await runtime.audit.query({ action: "payment.refunded", limit: 10 });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: "payment.refunded", target: "payment:p1", traceId: TRACE, data: { amount: 500 } });
    const verified = await runtime.audit.verify();
    expect(verified.ok).toBe(true);
    if (verified.ok) expect(verified.head.seq).toBe(entries[0]!.seq);
  });

  it("appends inside the app's own transaction, typed over the app's tables too: committed with the change, gone with its rollback", async () => {
    await runtime.db.kysely.schema.createTable("refunds").addColumn("id", "text", (c) => c.primaryKey()).execute();
    // How an app types its queries (Kysely's withTables); emit must take this transaction as it is.
    const db = runtime.db.kysely.withTables<{ refunds: { id: string } }>();
    await db.transaction().execute(async (trx) => {
      await trx.insertInto("refunds").values({ id: "r1" }).execute();
      await runtime.events.emit("payment.refunded" as never, { actor: { type: "system" }, target: "refund:r1" }, trx);
    });
    const failed = db.transaction().execute(async (trx) => {
      await trx.insertInto("refunds").values({ id: "r2" }).execute();
      await runtime.events.emit("payment.refunded" as never, { actor: { type: "system" }, target: "refund:r2" }, trx);
      throw new Error("refund refused upstream");
    });
    await expect(failed).rejects.toThrow("refund refused upstream");
    expect(await db.selectFrom("refunds").select("id").execute()).toEqual([{ id: "r1" }]);
    expect((await runtime.audit.query({ action: "payment.refunded", target: "refund:r1", limit: 10 })).entries).toHaveLength(1);
    expect((await runtime.audit.query({ action: "payment.refunded", target: "refund:r2", limit: 10 })).entries).toHaveLength(0);
    expect((await runtime.audit.verify()).ok).toBe(true);
  });

  it("logs an unaudited app event and leaves it out of the chain", async () => {
    const before = await runtime.audit.head();
    await runtime.events.emit("note.viewed" as never, { actor: { type: "user", id: "u1" }, target: "note:n1" });
    expect(await runtime.audit.head()).toEqual(before);
    expect(logs.records().some((r) => r.event === "note.viewed" && r.msg === "security event note.viewed")).toBe(true);
  });

  it("counts app events in the metrics, with a series at 0 before the first", async () => {
    const text = await app.metrics!.render();
    expect(text).toMatch(/rampart_security_events_total\{event="note.viewed"\} [1-9]/);
    expect(text).toMatch(/rampart_security_events_total\{event="payment.refunded"\} [1-9]/);
    runtime.events.define({ "report.generated": { audited: false } });
    expect(await app.metrics!.render()).toContain('rampart_security_events_total{event="report.generated"} 0');
  });

  it("throws at once, naming it, on an event nobody defined; nothing is logged or appended", async () => {
    const before = await runtime.audit.head();
    const lines = logs.lines.length;
    expect(() => runtime.events.emit("payment.lost" as never, { actor: { type: "system" } })).toThrow("unknown security event 'payment.lost'");
    expect(await runtime.audit.head()).toEqual(before);
    expect(logs.lines.slice(lines).some((l) => l.includes("payment.lost"))).toBe(false);
  });

  it("fails the start on an invalid event definition, naming it", async () => {
    const other = Fastify();
    await expect(other.register(rampart, { runtime, routes: { identity: false }, events: { "Payment-Refunded": { audited: true } } })).rejects.toThrow(/'Payment-Refunded' is not an event name/);
    await other.close();
  });
});
