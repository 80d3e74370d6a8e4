import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeExpired, retentionJobs, Scheduler } from "../../src/jobs/index.js";
import { ManualClock } from "../../src/runtime/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { testModes } from "../helpers/modes.js";
import { filePart, png } from "../files/fixtures.js";
import { blobPaths, upload } from "../files/helpers.js";

describe.each(testModes())("retention (%s)", (mode) => {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp(mode, { clock });
  });
  afterAll(() => t.close());

  it("purges expired refresh tokens, ended sessions and spent reset tokens, and keeps live ones", async () => {
    const old = await registerAndLogin(t.app);
    await call(t.app, { method: "POST", url: "/v1/auth/password/forgot", body: { email: old.email } });
    await new Promise((r) => setTimeout(r, 300));
    await call(t.app, { method: "POST", url: "/v1/auth/logout", token: old.accessToken });
    clock.advance(40 * 86_400_000); // past the 7-day refresh life and the 30-day session retention
    const fresh = await registerAndLogin(t.app);
    const result = await purgeExpired(t.runtime);
    expect(result.refreshTokens).toBeGreaterThanOrEqual(1);
    expect(result.sessions).toBeGreaterThanOrEqual(1);
    expect(result.passwordResets).toBeGreaterThanOrEqual(1);
    const left = await t.runtime.db.kysely.selectFrom("rampart_sessions").select("user_id").execute();
    expect(left.map((r) => r.user_id)).toContain(fresh.userId);
    expect(left.map((r) => r.user_id)).not.toContain(old.userId);
    expect((await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: fresh.refreshToken } })).statusCode).toBe(200);
    expect(await purgeExpired(t.runtime)).toMatchObject({ sessions: 0, passwordResets: 0 });
  });

  it("removes upload blobs whose removal failed after their rows were deleted, while the server runs", async () => {
    const u = await registerAndLogin(t.app);
    const res = await upload(t.app, u.accessToken, [filePart("scan.png", png(), "image/png")]);
    expect(res.statusCode, res.body).toBe(201);
    const fileId = res.json().data.file.id as string;
    const blob = blobPaths(t.runtime).find((p) => p.endsWith(fileId));
    expect(blob).toBeDefined();
    // The state a failed removal leaves: the row deleted and the blob recorded, in one transaction; the blob still on disk.
    await t.runtime.db.kysely.transaction().execute(async (trx) => {
      await trx.deleteFrom("rampart_files").where("id", "=", fileId).execute();
      await trx.insertInto("rampart_blob_deletions").values({ blob_id: fileId, queued_at: new Date(clock.now()) }).execute();
    });
    expect(existsSync(blob!)).toBe(true);
    const result = await purgeExpired(t.runtime);
    expect(result.blobsRemoved).toBe(1);
    expect(existsSync(blob!)).toBe(false);
    expect(await t.runtime.db.kysely.selectFrom("rampart_blob_deletions").select("blob_id").execute()).toEqual([]);
  });

  it("runs each job on one instance at a time (lease) and logs the audit head", async () => {
    const a = new Scheduler(t.runtime);
    const b = new Scheduler(t.runtime);
    const [job] = retentionJobs(t.runtime).filter((j) => j.name === "audit-head");
    const results = await Promise.all([a.runOnce(job!), b.runOnce(job!)]);
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    const head = await t.runtime.audit.head();
    expect(t.logs.records().some((r) => r.auditHead === `${head.seq}:${head.hash}`)).toBe(true);
    expect((a.stats.get("audit-head")?.skipped ?? 0) + (b.stats.get("audit-head")?.skipped ?? 0)).toBe(1);
  });
});
