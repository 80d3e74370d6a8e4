/**
 * The host app's own migrations run with Rampart's: after them, under the
 * same lock, recorded in `rampart_app_migrations`; once only (a second start
 * and concurrent runs apply nothing twice); refused when pending with
 * automatic migration off, as production does; a failing one rolls back and
 * names itself. Through createRuntime and through the `rampart` plugin.
 */
import Fastify from "fastify";
import { sql, type Kysely, type Migration } from "kysely";
import { afterAll, describe, expect, it, vi } from "vitest";
import { migrateToLatest, openDatabase, pendingAppMigrations, pendingMigrations, type AppMigrations } from "../../src/db/index.js";
import { migrations as rampartMigrations } from "../../src/db/migrations/index.js";
import { rampart } from "../../src/index.js";
import { PendingMigrationsError } from "../../src/runtime/index.js";
import { createTestEnv, stubSecretsEnv, testModes } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

/** An app migration set that counts how often each `up` ran. */
function notesMigrations(runs: Record<string, number>): Record<string, Migration> {
  const counted = (name: string, up: (db: Kysely<any>) => Promise<void>): Migration => ({
    up: async (db) => {
      runs[name] = (runs[name] ?? 0) + 1;
      await up(db);
    },
  });
  return {
    "0001-notes": counted("0001-notes", async (db) => {
      // References Rampart's table: only works when Rampart's migrations ran first.
      await db.schema
        .createTable("app_notes")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id").onDelete("cascade"))
        .addColumn("body", "text", (c) => c.notNull())
        .execute();
    }),
    "0002-notes-index": counted("0002-notes-index", async (db) => {
      await db.schema.createIndex("app_notes_user").on("app_notes").column("user_id").execute();
    }),
  };
}

async function tableExists(db: Kysely<any>, name: string): Promise<boolean> {
  const r = await sql<{ t: string | null }>`select to_regclass(${name})::text as t`.execute(db);
  return r.rows[0]?.t === name;
}

describe.each(testModes())("app migrations (%s)", (mode) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("createRuntime applies them after Rampart's, in a table of their own; a second start applies nothing", async () => {
    const env = await createTestEnv(mode);
    cleanups.push(() => env.cleanup());
    const runs: Record<string, number> = {};
    const first = await createTestRuntime(env, { migrations: notesMigrations(runs) });
    const db = first.runtime.db.kysely;
    expect(await tableExists(db, "app_notes")).toBe(true);
    const appRows = await sql<{ name: string }>`select name from rampart_app_migrations order by name`.execute(db);
    expect(appRows.rows.map((r) => r.name)).toEqual(["0001-notes", "0002-notes-index"]);
    // Rampart's own table lists only Rampart's migrations: the two orders never mix.
    const coreRows = await sql<{ name: string }>`select name from rampart_migrations`.execute(db);
    expect(coreRows.rows.map((r) => r.name).sort()).toEqual(Object.keys(rampartMigrations).sort());
    expect(first.logs.records().some((r) => r.msg === "app migrations applied")).toBe(true);
    await first.runtime.close();

    const second = await createTestRuntime(env, { migrations: notesMigrations(runs) });
    cleanups.push(() => second.runtime.close());
    expect(runs).toEqual({ "0001-notes": 1, "0002-notes-index": 1 });
    expect(second.logs.records().some((r) => r.msg === "app migrations applied")).toBe(false);
    expect(await pendingAppMigrations(second.runtime.db.kysely, notesMigrations({}))).toEqual([]);
  });

  it("the rampart plugin runs them when it builds the runtime, and refuses them next to a runtime of the app's", async () => {
    const env = await createTestEnv(mode, { LOG_LEVEL: "silent" });
    cleanups.push(() => env.cleanup());
    stubSecretsEnv(env);
    cleanups.push(async () => void vi.unstubAllEnvs());
    const runs: Record<string, number> = {};
    for (let start = 0; start < 2; start++) {
      const app = Fastify();
      await app.register(rampart, { config: env.config, migrations: notesMigrations(runs) });
      await app.ready();
      expect(await tableExists(app.rampart.runtime.db.kysely, "app_notes")).toBe(true);
      await app.close();
    }
    vi.unstubAllEnvs();
    expect(runs).toEqual({ "0001-notes": 1, "0002-notes-index": 1 });

    const { runtime } = await createTestRuntime(env);
    cleanups.push(() => runtime.close());
    const app = Fastify();
    await expect(app.register(rampart, { runtime, migrations: notesMigrations(runs) })).rejects.toThrow(/with options\.runtime, pass them to createRuntime\(config, \{ migrations \}\)/);
    await app.close();
  });

  it("with automatic migration off (production), pending app migrations stop the start, named", async () => {
    const env = await createTestEnv(mode);
    cleanups.push(() => env.cleanup());
    const one = notesMigrations({});
    const db = await openDatabase(env.config);
    await migrateToLatest(db.kysely, { "0001-notes": one["0001-notes"]! });
    await db.close();
    const err = await createTestRuntime(env, { env: { RAMPART_AUTO_MIGRATE: "false" }, migrations: one }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PendingMigrationsError);
    expect((err as PendingMigrationsError).pending).toEqual(["app:0002-notes-index"]);
    expect((err as Error).message).toContain("app:0002-notes-index");
    expect((err as Error).message).toContain("migrateToLatest(db, migrations)");
    // Applied by the operator's step, the start goes through.
    const migrated = await openDatabase(env.config);
    expect((await migrateToLatest(migrated.kysely, one)).appApplied).toEqual(["0002-notes-index"]);
    await migrated.close();
    const { runtime } = await createTestRuntime(env, { env: { RAMPART_AUTO_MIGRATE: "false" }, migrations: one });
    await runtime.close();
  });

  it("concurrent runs apply each app migration exactly once", async () => {
    const env = await createTestEnv(mode, {}, { schema: "empty" });
    cleanups.push(() => env.cleanup());
    const runs: Record<string, number> = {};
    const set = notesMigrations(runs);
    // Several connections (PostgreSQL) or the one embedded connection, migrating at once.
    const dbs = mode === "postgres" ? await Promise.all([1, 2, 3].map(() => openDatabase(env.config))) : [await openDatabase(env.config)];
    for (const d of dbs) cleanups.push(() => d.close());
    const targets = mode === "postgres" ? dbs : [dbs[0]!, dbs[0]!];
    const results = await Promise.all(targets.map((d) => migrateToLatest(d.kysely, set)));
    expect(results.flatMap((r) => r.appApplied).sort()).toEqual(["0001-notes", "0002-notes-index"]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(Object.keys(rampartMigrations).sort());
    expect(runs).toEqual({ "0001-notes": 1, "0002-notes-index": 1 });
    expect(await pendingMigrations(dbs[0]!.kysely)).toEqual([]);
  });

  it("a failing app migration is named and rolled back; Rampart's stay applied; a malformed one is refused before anything runs", async () => {
    const env = await createTestEnv(mode);
    cleanups.push(() => env.cleanup());
    const db = await openDatabase(env.config);
    cleanups.push(() => db.close());
    const broken: AppMigrations = {
      "0001-half": {
        up: async (k) => {
          await k.schema.createTable("app_half").addColumn("id", "text").execute();
          await sql`select * from no_such_table`.execute(k);
        },
      },
    };
    await expect(migrateToLatest(db.kysely, broken)).rejects.toThrow(/^app migration 0001-half failed: .*no_such_table/);
    expect(await tableExists(db.kysely, "app_half")).toBe(false);
    expect(await pendingMigrations(db.kysely)).toEqual([]);
    expect(await pendingAppMigrations(db.kysely, broken)).toEqual(["0001-half"]);
    await expect(migrateToLatest(db.kysely, { "0002-x": {} as Migration })).rejects.toThrow("app migration '0002-x' has no up(db) function");
    const up = async () => undefined;
    await expect(migrateToLatest(db.kysely, { " ": { up } })).rejects.toThrow(new TypeError("an app migration name must not be empty"));
    await expect(migrateToLatest(db.kysely, { "0002-x": { up, down: "drop table app_half" } as unknown as Migration })).rejects.toThrow("app migration '0002-x': down must be a function");
    expect(await pendingAppMigrations(db.kysely, { "0002-x": { up, down: up } })).toEqual(["0002-x"]);
  });

  it("a migration that throws something other than an Error is named with what it threw", async () => {
    const env = await createTestEnv(mode);
    cleanups.push(() => env.cleanup());
    const db = await openDatabase(env.config);
    cleanups.push(() => db.close());
    const throwing: AppMigrations = {
      "0001-odd": {
        up: async () => {
          throw "disk full";
        },
      },
    };
    await expect(migrateToLatest(db.kysely, throwing)).rejects.toThrow(new Error("app migration 0001-odd failed: disk full"));
    expect(await pendingAppMigrations(db.kysely, throwing)).toEqual(["0001-odd"]);
  });
});
