/**
 * The audit head is read from PostgreSQL at scrape time: a head that cannot
 * be read (here: the row locked by another session) leaves its sample out of
 * that scrape — no stale or made-up value — and never holds the scrape up.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { serviceUrl } from "../helpers/services.js";
import { sample } from "./helpers.js";

describe("audit head metric while the head cannot be read (PostgreSQL)", () => {
  let t: TestApp;
  let blocker: pg.Client;
  beforeAll(async () => {
    serviceUrl("TEST_DATABASE_URL");
    t = await createTestApp("postgres");
    blocker = new pg.Client({ connectionString: t.env.env.DATABASE_URL });
    await blocker.connect();
  });
  afterAll(async () => {
    await blocker.end();
    await t.close();
  });

  it("leaves the sample out while the head row is locked, and reports it again after", async () => {
    const { seq } = await t.runtime.audit.head();
    expect(sample(await t.app.metrics!.render(), "rampart_audit_chain_head_seq")).toBe(seq);
    await blocker.query("begin");
    await blocker.query("lock table rampart_audit_head in access exclusive mode");
    try {
      const text = await t.app.metrics!.render();
      expect(sample(text, "rampart_audit_chain_head_seq")).toBeUndefined();
      expect(text).toContain("# TYPE rampart_audit_chain_head_seq gauge");
      // The rest of the scrape is there.
      expect(sample(text, "rampart_audit_events_total")).toBeGreaterThanOrEqual(0);
    } finally {
      await blocker.query("commit");
    }
    expect(sample(await t.app.metrics!.render(), "rampart_audit_chain_head_seq")).toBe(seq);
  }, 30_000);
});
