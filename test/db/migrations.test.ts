import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLease, DataDirLockedError, migrateToLatest, openDatabase, pendingMigrations, releaseLease } from "../../src/db/index.js";
import { migrations } from "../../src/db/migrations/index.js";
import { loadConfig } from "../../src/config/index.js";
import { createTestEnv, testModes } from "../helpers/modes.js";

describe.each(testModes())("database (%s)", (mode) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("applies every migration once, also when several instances migrate at once", async () => {
    const env = await createTestEnv(mode, {}, { schema: "empty" });
    cleanups.push(() => env.cleanup());
    if (mode === "postgres") {
      const dbs = await Promise.all([1, 2, 3, 4].map(() => openDatabase(env.config)));
      const results = await Promise.all(dbs.map((d) => migrateToLatest(d.kysely)));
      const applied = results.flatMap((r) => r.applied);
      expect(applied.sort()).toEqual(Object.keys(migrations).sort());
      const rows = await sql<{ name: string }>`select name from rampart_migrations`.execute(dbs[0]!.kysely);
      expect(rows.rows.map((r) => r.name).sort()).toEqual(Object.keys(migrations).sort());
      expect(await pendingMigrations(dbs[0]!.kysely)).toEqual([]);
      for (const d of dbs) await d.close();
    } else {
      const db = await openDatabase(env.config);
      expect(await pendingMigrations(db.kysely)).toEqual(Object.keys(migrations));
      // Concurrent runs on the one embedded connection serialize too.
      const results = await Promise.all([migrateToLatest(db.kysely), migrateToLatest(db.kysely)]);
      expect(results.flatMap((r) => r.applied).sort()).toEqual(Object.keys(migrations).sort());
      expect(await pendingMigrations(db.kysely)).toEqual([]);
      await db.close();
    }
  });

  it("a transaction on one request is not joined by concurrent queries", async () => {
    const env = await createTestEnv(mode, {}, { schema: "empty" });
    cleanups.push(() => env.cleanup());
    const db = await openDatabase(env.config);
    cleanups.push(() => db.close());
    await migrateToLatest(db.kysely);
    const inTx = db.kysely.transaction().execute(async (trx) => {
      await trx.insertInto("rampart_leases").values({ name: "tx", holder: "a", expires_at: new Date(Date.now() + 60_000) }).execute();
      await new Promise((r) => setTimeout(r, 100));
      throw new Error("rollback");
    });
    const outside = db.kysely.insertInto("rampart_leases").values({ name: "outside", holder: "b", expires_at: new Date(Date.now() + 60_000) }).execute();
    await expect(inTx).rejects.toThrow("rollback");
    await outside;
    const names = (await db.kysely.selectFrom("rampart_leases").select("name").execute()).map((r) => r.name);
    expect(names).toEqual(["outside"]);
  });

  it("leases: exactly one of many concurrent contenders holds a lease until it expires", async () => {
    const env = await createTestEnv(mode, {}, { schema: "empty" });
    cleanups.push(() => env.cleanup());
    const db = await openDatabase(env.config);
    cleanups.push(() => db.close());
    await migrateToLatest(db.kysely);
    const now = Date.UTC(2026, 0, 1);
    const won = await Promise.all(Array.from({ length: 10 }, (_, i) => acquireLease(db.kysely, "job", `i${i}`, 30_000, now)));
    expect(won.filter(Boolean)).toHaveLength(1);
    const holder = `i${won.indexOf(true)}`;
    expect(await acquireLease(db.kysely, "job", "other", 30_000, now + 10_000)).toBe(false);
    expect(await acquireLease(db.kysely, "job", holder, 30_000, now + 10_000)).toBe(true);
    expect(await acquireLease(db.kysely, "job", "other", 30_000, now + 50_000)).toBe(true);
    await releaseLease(db.kysely, "job", "other");
    expect(await acquireLease(db.kysely, "job", holder, 30_000, now + 50_001)).toBe(true);
  });
});

describe("embedded data directory", () => {
  it("refuses a second process-level open of the same directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rampart-lock-"));
    try {
      const config = loadConfig({ RAMPART_DATA_DIR: dir });
      const db = await openDatabase(config);
      try {
        // Same process: the lock file names our own pid, which is treated as stale
        // only for a dead owner; simulate another live owner with the parent pid.
        const { writeFileSync } = await import("node:fs");
        writeFileSync(join(dir, "pgdata.lock"), String(process.ppid));
        await expect(openDatabase(config)).rejects.toBeInstanceOf(DataDirLockedError);
        writeFileSync(join(dir, "pgdata.lock"), String(process.pid));
      } finally {
        await db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
