/**
 * The audit log's walk with a head recorded earlier (including the empty
 * chain's head, and one whose hash no longer matches), the refusal to combine
 * `from` and `expectHead`, the time window of queries, and an append on a
 * database whose chain head row is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, type Runtime } from "../../src/runtime/index.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

describe.each(testModes())("audit log (%s)", (mode) => {
  let env: TestEnv;
  let runtime: Runtime;
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  beforeAll(async () => {
    env = await createTestEnv(mode);
    ({ runtime } = await createTestRuntime(env, { clock }));
  });
  afterAll(async () => {
    await runtime.close();
    await env.cleanup();
  });

  it("the empty chain's head (seq 0) recorded earlier is in every later chain", async () => {
    const empty = await runtime.audit.head();
    expect(empty.seq).toBe(0);
    await runtime.audit.appendNow({ actorType: "system", action: "user.updated", target: "user:a", data: { i: 1 } });
    expect(await runtime.audit.verify({ expectHead: empty })).toMatchObject({ ok: true, entries: 1 });
  });

  it("a head recorded earlier whose entry now has another hash is reported at that entry", async () => {
    const head = await runtime.audit.head();
    await runtime.audit.appendNow({ actorType: "system", action: "user.updated", target: "user:b" });
    const forged = { seq: head.seq, hash: "0".repeat(head.hash.length) };
    expect(await runtime.audit.verify({ expectHead: forged })).toEqual({ ok: false, entries: head.seq - 1, firstBadSeq: head.seq, reason: "differs from the head recorded earlier" });
    expect(await runtime.audit.verify({ expectHead: head })).toMatchObject({ ok: true });
  });

  it("refuses `from` together with `expectHead`", async () => {
    const head = await runtime.audit.head();
    await expect(runtime.audit.verify({ from: head, expectHead: head })).rejects.toThrow(TypeError);
  });

  it("queries entries in a time window: from inclusive, to exclusive", async () => {
    const t0 = clock.now();
    clock.advance(60_000);
    const t1 = clock.now();
    await runtime.audit.appendNow({ actorType: "system", action: "user.updated", target: "user:window", data: { at: "t1" } });
    clock.advance(60_000);
    const t2 = clock.now();
    await runtime.audit.appendNow({ actorType: "system", action: "user.updated", target: "user:window", data: { at: "t2" } });
    const at = async (from: number | undefined, to: number | undefined) =>
      (await runtime.audit.query({ target: "user:window", limit: 10, ...(from !== undefined ? { from: new Date(from) } : {}), ...(to !== undefined ? { to: new Date(to) } : {}) })).entries.map((e) => e.data.at);
    expect(await at(t1, undefined)).toEqual(["t2", "t1"]);
    expect(await at(t0, t2)).toEqual(["t1"]);
    expect(await at(t2, undefined)).toEqual(["t2"]);
    expect(await at(undefined, t1)).toEqual([]);
  });

  it("an append without the chain head row fails naming the missing migration, and writes nothing", async () => {
    const db = runtime.db.kysely;
    const head = await db.selectFrom("rampart_audit_head").selectAll().executeTakeFirstOrThrow();
    const before = await runtime.audit.verify();
    await db.deleteFrom("rampart_audit_head").execute();
    try {
      await expect(runtime.audit.appendNow({ actorType: "system", action: "user.updated" })).rejects.toThrow("audit chain head is missing (migration 0010-audit not applied?)");
    } finally {
      await db.insertInto("rampart_audit_head").values(head).execute();
    }
    expect(await runtime.audit.verify()).toEqual(before);
  });
});
