/**
 * The audit chain metrics move with what they describe: audited events
 * emitted, the head in the database, and the verifier's outcome on this
 * instance (scheduled job and admin verification), including a chain
 * broken behind the server's back.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditVerifyJobs } from "../../src/audit/index.js";
import { ManualClock } from "../../src/runtime/index.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { makeAdmin } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";
import { sample } from "./helpers.js";

describe.each(testModes())("audit chain metrics (%s)", (mode) => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2026, 6, 1, 12));
  beforeAll(async () => {
    t = await createTestApp(mode, { clock });
  });
  afterAll(() => t.close());

  const scrape = () => t.app.metrics!.render();
  const job = () => auditVerifyJobs({ ...t.runtime, config: t.runtime.config })[0]!;

  it("counts audited events and follows the head in the database", async () => {
    const before = await scrape();
    const head = await t.runtime.audit.head();
    expect(sample(before, "rampart_audit_chain_head_seq")).toBe(head.seq);
    const events = sample(before, "rampart_audit_events_total")!;

    // Registering appends auth.registered (audited); a failed login is counted but not audited.
    const u = await registerAndLogin(t.app);
    await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: `${u.password}x` } });
    const after = await scrape();
    const appended = (await t.runtime.audit.head()).seq - head.seq;
    expect(appended).toBeGreaterThanOrEqual(1);
    expect(sample(after, "rampart_audit_chain_head_seq")).toBe(head.seq + appended);
    expect(sample(after, "rampart_audit_events_total")).toBe(events + appended);
    expect(sample(after, "rampart_security_events_total", { event: "auth.login.failed" })).toBe(sample(before, "rampart_security_events_total", { event: "auth.login.failed" })! + 1);
  });

  it("an emitted audited event whose change rolls back is counted while the head stays", async () => {
    const before = await scrape();
    await expect(
      t.runtime.db.kysely.transaction().execute(async (trx) => {
        await t.runtime.events.emit("user.updated", { actor: { type: "system" }, target: "user:x", data: { fields: ["name"] } }, trx);
        throw new Error("the change fails");
      }),
    ).rejects.toThrow("the change fails");
    const after = await scrape();
    expect(sample(after, "rampart_audit_events_total")).toBe(sample(before, "rampart_audit_events_total")! + 1);
    expect(sample(after, "rampart_audit_chain_head_seq")).toBe(sample(before, "rampart_audit_chain_head_seq"));
  });

  it("reports the verifier's outcome: absent before a run, then passing, then broken", async () => {
    const before = await scrape();
    expect(sample(before, "rampart_audit_chain_verified")).toBeUndefined();
    expect(sample(before, "rampart_audit_chain_last_verified_timestamp_seconds")).toBeUndefined();
    expect(sample(before, "rampart_audit_verify_runs_total")).toBe(0);
    expect(sample(before, "rampart_audit_verify_failures_total")).toBe(0);

    await job().run();
    const head = await t.runtime.audit.head();
    const ok = await scrape();
    expect(sample(ok, "rampart_audit_chain_verified")).toBe(1);
    expect(sample(ok, "rampart_audit_chain_verified_seq")).toBe(head.seq);
    expect(sample(ok, "rampart_audit_chain_last_verified_timestamp_seconds")).toBe(clock.now() / 1000);
    expect(sample(ok, "rampart_audit_verify_runs_total")).toBe(1);

    // An entry appended after the verified head, then altered: the next (incremental) run finds it.
    await t.runtime.events.emit("user.updated", { actor: { type: "system" }, target: "user:y", data: { fields: ["name"] } });
    const row = await t.runtime.db.kysely.selectFrom("rampart_audit_log").select(["seq", "data"]).where("seq", "=", head.seq + 1).executeTakeFirstOrThrow();
    await sql`update rampart_audit_log set data = '{"forged":true}' where seq = ${row.seq}`.execute(t.runtime.db.kysely);
    try {
      clock.advance(60_000);
      expect(await job().run()).toMatchObject({ mode: "incremental", ok: 0, firstBadSeq: head.seq + 1 });
      const broken = await scrape();
      expect(sample(broken, "rampart_audit_chain_verified")).toBe(0);
      expect(sample(broken, "rampart_audit_verify_failures_total")).toBe(1);
      expect(sample(broken, "rampart_audit_verify_runs_total")).toBe(2);
      // The last passing time stays the earlier one.
      expect(sample(broken, "rampart_audit_chain_last_verified_timestamp_seconds")).toBe((clock.now() - 60_000) / 1000);
    } finally {
      await t.runtime.db.kysely.updateTable("rampart_audit_log").set({ data: row.data }).where("seq", "=", row.seq).execute();
    }
  });

  it("an admin verification through the API counts on the instance that answers it", async () => {
    const admin = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, admin.userId);
    const token = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken as string;
    const runs = sample(await scrape(), "rampart_audit_verify_runs_total")!;
    const res = await call(t.app, { method: "GET", url: "/v1/admin/audit/verify", token });
    expect(res.statusCode).toBe(200);
    expect(res.data).toMatchObject({ ok: true, head: await t.runtime.audit.head() });
    const after = await scrape();
    expect(sample(after, "rampart_audit_verify_runs_total")).toBe(runs + 1);
    expect(sample(after, "rampart_audit_chain_verified")).toBe(1);
  });
});
