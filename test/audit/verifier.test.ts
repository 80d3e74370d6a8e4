/**
 * Threat: someone with database access rewrites audit history while the
 * server runs and counts on nobody walking the chain until an audit. The
 * continuous verifier (src/audit/verifier.ts) and its job must catch it at
 * the next run: an altered new entry, a rewritten or removed verified head,
 * a cut tail; an old entry edited without re-chaining at the next full walk.
 * Entries appended while a walk runs must never be taken for tampering.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditVerifier, auditVerifyJobs } from "../../src/audit/index.js";
import { retentionJobs } from "../../src/jobs/index.js";
import { ManualClock, type Runtime } from "../../src/runtime/index.js";
import type { LogCapture } from "../helpers/logs.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

async function seed(runtime: Runtime, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await runtime.events.emit("user.updated", { actor: { type: "system" }, target: `user:u${i}`, data: { fields: ["name"], i } });
}

describe.each(testModes())("audit chain verification (%s)", (mode) => {
  let env: TestEnv;
  let runtime: Runtime;
  let logs: LogCapture;
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  beforeAll(async () => {
    env = await createTestEnv(mode);
    ({ runtime, logs } = await createTestRuntime(env, { clock }));
    await seed(runtime, 5);
  });
  afterAll(async () => {
    await runtime.close();
    await env.cleanup();
  });

  const db = () => runtime.db.kysely;
  /** Runs `change`, then puts the audit rows and the head back as they were. */
  async function tampered(change: () => Promise<void>, check: () => Promise<void>): Promise<void> {
    const rows = await db().selectFrom("rampart_audit_log").selectAll().orderBy("seq").execute();
    const head = await runtime.audit.head();
    try {
      await change();
      await check();
    } finally {
      await db().deleteFrom("rampart_audit_log").execute();
      await db().insertInto("rampart_audit_log").values(rows).execute();
      await db().updateTable("rampart_audit_head").set(head).where("id", "=", 1).execute();
    }
  }

  it("walks the whole chain first, then only the entries appended since the head it verified", async () => {
    const verifier = new AuditVerifier(runtime.audit, clock);
    const head = await runtime.audit.head();
    const first = await verifier.run();
    expect(first).toEqual({ mode: "full", result: { ok: true, entries: head.seq, head } });
    await seed(runtime, 3);
    const second = await verifier.run();
    expect(second.mode).toBe("incremental");
    expect(second.result).toMatchObject({ ok: true, entries: 3, head: { seq: head.seq + 3 } });
    expect(await verifier.run()).toMatchObject({ mode: "incremental", result: { ok: true, entries: 0 } });
    expect(verifier.stats()).toMatchObject({ runs: 3, failures: 0, lastOk: true, verifiedHead: await runtime.audit.head(), lastVerifiedAt: clock.now(), lastFullAt: clock.now() });
  });

  it("an entry appended after the verified head and altered is caught at its sequence number", async () => {
    const verifier = new AuditVerifier(runtime.audit, clock);
    await verifier.run();
    const { seq } = await runtime.audit.head();
    await seed(runtime, 2);
    await tampered(
      () => sql`update rampart_audit_log set data = '{"fields":["email"]}' where seq = ${seq + 2}`.execute(db()).then(() => undefined),
      async () => {
        expect(await verifier.run()).toMatchObject({ mode: "incremental", result: { ok: false, firstBadSeq: seq + 2, reason: "content does not match its hash (altered)" } });
        expect(verifier.stats()).toMatchObject({ lastOk: false, failures: 1 });
        // It keeps failing: the verified head stays where it was.
        expect((await verifier.run()).result).toMatchObject({ ok: false, firstBadSeq: seq + 2 });
        expect(verifier.stats().failures).toBe(2);
      },
    );
  });

  it("a verified head rewritten (history re-chained) or removed (tail cut below it) is caught", async () => {
    const verifier = new AuditVerifier(runtime.audit, clock);
    await verifier.run();
    const head = await runtime.audit.head();
    await tampered(
      () => sql`update rampart_audit_log set hash = ${"f".repeat(64)} where seq = ${head.seq}`.execute(db()).then(() => undefined),
      async () => expect((await verifier.run()).result).toMatchObject({ ok: false, firstBadSeq: head.seq, reason: `entry ${head.seq} differs from when it was verified (history rewritten)` }),
    );
    await tampered(
      async () => {
        const keep = await db().selectFrom("rampart_audit_log").select(["seq", "hash"]).where("seq", "=", head.seq - 2).executeTakeFirstOrThrow();
        await db().deleteFrom("rampart_audit_log").where("seq", ">", head.seq - 2).execute();
        await db().updateTable("rampart_audit_head").set({ seq: keep.seq, hash: keep.hash }).where("id", "=", 1).execute();
      },
      async () => expect((await verifier.run()).result).toMatchObject({ ok: false, firstBadSeq: head.seq, reason: `entry ${head.seq}, verified earlier, is missing (entries removed)` }),
    );
    expect((await verifier.run()).result.ok).toBe(true);
  });

  it("an old entry edited without re-chaining passes an incremental run and fails the next full walk", async () => {
    const verifier = new AuditVerifier(runtime.audit, clock);
    await verifier.run();
    await tampered(
      () => sql`update rampart_audit_log set action = 'auth.unlocked' where seq = 1`.execute(db()).then(() => undefined),
      async () => {
        expect((await verifier.run()).result.ok).toBe(true);
        expect(await verifier.run({ full: true })).toMatchObject({ mode: "full", result: { ok: false, firstBadSeq: 1, reason: "content does not match its hash (altered)" } });
      },
    );
  });

  it("entries appended while a walk runs are left for the next run, never reported as tampering", async () => {
    const verifier = new AuditVerifier(runtime.audit, clock);
    for (let round = 0; round < 5; round++) {
      const [run] = await Promise.all([verifier.run({ full: true, batchSize: 2 }), seed(runtime, 6)]);
      expect(run.result.ok, JSON.stringify(run.result)).toBe(true);
    }
    const last = await verifier.run();
    expect(last.result).toMatchObject({ ok: true, head: await runtime.audit.head() });
  });

  it("the audit-verify job: a full walk at first and on schedule, the tail in between, and an error logged for a broken chain", async () => {
    expect(retentionJobs(runtime).map((j) => j.name)).toContain("audit-verify");
    expect(auditVerifyJobs({ audit: runtime.audit, clock, log: runtime.log, config: { auditVerifyIntervalSeconds: 0, auditVerifyFullIntervalHours: 24 } })).toEqual([]);
    const audit = { verifier: new AuditVerifier(runtime.audit, clock) };
    const [job] = auditVerifyJobs({ audit, clock, log: runtime.log, config: { auditVerifyIntervalSeconds: 30, auditVerifyFullIntervalHours: 2 } });
    expect(job!.intervalMs).toBe(30_000);
    const head = await runtime.audit.head();
    expect(await job!.run()).toEqual({ mode: "full", ok: 1, entries: head.seq, headSeq: head.seq });
    await seed(runtime, 1);
    expect(await job!.run()).toEqual({ mode: "incremental", ok: 1, entries: 1, headSeq: head.seq + 1 });
    clock.advance(2 * 3_600_000);
    expect(await job!.run()).toMatchObject({ mode: "full", ok: 1, entries: head.seq + 1 });
    await tampered(
      () => sql`update rampart_audit_log set target = 'user:someone-else' where seq = 2`.execute(db()).then(() => undefined),
      async () => {
        clock.advance(2 * 3_600_000);
        expect(await job!.run()).toEqual({ mode: "full", ok: 0, firstBadSeq: 2, reason: "content does not match its hash (altered)" });
        const line = logs.records().find((r) => r.msg === "audit chain verification failed");
        expect(line).toMatchObject({ level: "error", mode: "full", firstBadSeq: 2, reason: "content does not match its hash (altered)" });
      },
    );
  });
});
