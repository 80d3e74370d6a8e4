/**
 * Threat: someone with database access rewrites history — alters, deletes or
 * reorders audit rows, or cuts the tail — and expects nobody to notice.
 * Each case is done directly in PostgreSQL; `rampart audit verify` (the real
 * CLI) must fail naming the first bad sequence number. Concurrent appends
 * from two instances must leave one valid chain.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";
import type { Runtime } from "../../src/runtime/index.js";
import { runCli } from "../helpers/process.js";

async function seed(runtime: Runtime, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await runtime.events.emit("user.updated", { actor: { type: "user", id: `u${i}` }, target: `user:u${i}`, data: { fields: ["name"], i } });
}

describe("audit tampering in PostgreSQL", () => {
  let env: TestEnv;
  let runtime: Runtime;
  let client: pg.Client;
  beforeAll(async () => {
    env = await createTestEnv("postgres");
    runtime = (await createTestRuntime(env)).runtime;
    client = new pg.Client({ connectionString: env.env.DATABASE_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await runtime.close();
    await env.cleanup();
  });

  const verify = () => runCli(["audit", "verify"], env.env);
  const snapshot = async () => (await client.query("select * from rampart_audit_log order by seq")).rows as Record<string, unknown>[];
  const restore = async (rows: Record<string, unknown>[]) => {
    await client.query("delete from rampart_audit_log");
    for (const r of rows) {
      const cols = Object.keys(r);
      await client.query(`insert into rampart_audit_log (${cols.join(",")}) values (${cols.map((_, i) => `$${i + 1}`).join(",")})`, cols.map((c) => r[c]));
    }
  };

  it("concurrent appends from two instances leave one valid chain", async () => {
    const { runtime: second } = await createTestRuntime(env);
    try {
      await Promise.all([seed(runtime, 15), seed(second, 15), seed(runtime, 5)]);
    } finally {
      await second.close();
    }
    const rows = await snapshot();
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
    const ok = await verify();
    expect(ok.stdout).toContain("audit chain OK: 35 entries");
    expect(ok.code).toBe(0);
  });

  it("an altered entry is caught at its sequence number", async () => {
    const rows = await snapshot();
    await client.query(`update rampart_audit_log set data = '{"fields":["email"],"i":3}' where seq = 7`);
    const r = await verify();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BROKEN at sequence 7: content does not match its hash/);
    await restore(rows);
  });

  it("a deleted entry is caught at its sequence number", async () => {
    const rows = await snapshot();
    await client.query("delete from rampart_audit_log where seq = 12");
    const r = await verify();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BROKEN at sequence 12: entry 12 is missing/);
    await restore(rows);
  });

  it("reordered entries are caught at the first moved one", async () => {
    const rows = await snapshot();
    // Swap entries 20 and 21 (contents and hashes move, sequence numbers stay).
    await client.query("update rampart_audit_log set seq = -21 where seq = 21");
    await client.query("update rampart_audit_log set seq = 21 where seq = 20");
    await client.query("update rampart_audit_log set seq = 20 where seq = -21");
    const r = await verify();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BROKEN at sequence 20/);
    await restore(rows);
  });

  it("a truncated tail is caught: by the head row, and by a head recorded earlier even if the head row is rewritten", async () => {
    const rows = await snapshot();
    const last = rows[rows.length - 1]!;
    await client.query("delete from rampart_audit_log where seq > 30");
    const r = await verify();
    expect(r.code).toBe(1);
    // The first missing entry is 31.
    expect(r.stdout).toMatch(/BROKEN at sequence 31: the chain ends at 30 but the head says 35/);
    // The attacker also rewrites the head row; the head logged earlier still catches it.
    const h30 = rows.find((x) => Number(x.seq) === 30)!;
    await client.query("update rampart_audit_head set seq = 30, hash = $1", [h30.hash]);
    expect((await verify()).code).toBe(0);
    const r2 = await runCli(["audit", "verify", "--expect-head", `${Number(last.seq)}:${String(last.hash)}`], env.env);
    expect(r2.code).toBe(1);
    expect(r2.stdout).toMatch(/tail truncated/);
    await restore(rows);
    await client.query("update rampart_audit_head set seq = $1, hash = $2", [Number(last.seq), last.hash]);
    expect((await verify()).code).toBe(0);
  });
});
