/**
 * Applies and inspects migrations: Rampart's own set, then the host app's
 * (kept in a table of its own, `rampart_app_migrations`, so the two orders
 * never mix), both under one database lock.
 *
 * The lock is a session-level advisory lock held on one connection for the
 * whole run, so an instance never sees Rampart's schema migrated and the
 * app's half-way; inside it, Kysely's Migrator takes its own lock again
 * (re-entrant on the same session) and applies each set in a transaction.
 * Several instances migrating at once apply each migration exactly once.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the migrator runs on any schema */
import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from "kysely";
import { migrations } from "./migrations/index.js";

/** The host app's migrations by name; names sort in the order they apply. */
export type AppMigrations = Readonly<Record<string, Migration>>;

/** Advisory lock key of a whole run (any fixed 64-bit value that no other Rampart lock uses). */
const RUN_LOCK = "7354210944196873011";

const TABLES = {
  rampart: { migrationTableName: "rampart_migrations", migrationLockTableName: "rampart_migrations_lock" },
  app: { migrationTableName: "rampart_app_migrations", migrationLockTableName: "rampart_app_migrations_lock" },
} as const;

function migrator(db: Kysely<any>, set: keyof typeof TABLES, list: AppMigrations): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => ({ ...list }) }, ...TABLES[set] });
}

/** Refuses, naming it, an app migration without an `up` function (before anything runs). */
export function checkAppMigrations(app: AppMigrations): void {
  for (const [name, m] of Object.entries(app)) {
    if (name.trim() === "") throw new TypeError("an app migration name must not be empty");
    if (typeof m?.up !== "function") throw new TypeError(`app migration '${name}' has no up(db) function`);
    if (m.down !== undefined && typeof m.down !== "function") throw new TypeError(`app migration '${name}': down must be a function`);
  }
}

export interface MigrationOutcome {
  /** Rampart's migrations applied by this run. */
  applied: string[];
  /** The app's migrations applied by this run. */
  appApplied: string[];
}

function appliedOf(result: MigrationResultSet, set: string): string[] {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName;
    throw new Error(`${set} migration ${failed ?? "(unknown)"} failed: ${result.error instanceof Error ? result.error.message : String(result.error)}`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/**
 * Whether a newer release has migrated this database: every migration of
 * `list` is applied, and the only others applied sort after all of them.
 * During a rolling upgrade the instances of the previous release still
 * start then (nothing to apply; the newer migrations are expand-only, see
 * docs/deployment.md), where Kysely's migrator would refuse ("corrupted
 * migrations"). An unknown migration among known ones still is refused.
 */
async function migratedByNewerRelease(db: Kysely<any>, set: keyof typeof TABLES, list: AppMigrations): Promise<boolean> {
  const table = TABLES[set].migrationTableName;
  const found = await sql<{ t: string | null }>`select to_regclass(${table})::text as t`.execute(db);
  if (!found.rows[0]?.t) return false;
  const applied = (await sql<{ name: string }>`select name from ${sql.table(table)}`.execute(db)).rows.map((r) => r.name);
  const known = Object.keys(list).sort();
  const unknown = applied.filter((n) => !known.includes(n));
  const last = known[known.length - 1];
  return unknown.length > 0 && known.every((n) => applied.includes(n)) && unknown.every((n) => last === undefined || n > last);
}

/**
 * Applies Rampart's pending migrations, then the app's (`app`), under one
 * lock. A failing migration rolls its set back and throws naming it; the
 * app's set does not run when Rampart's failed. A set that a newer release
 * has migrated further is left as it is.
 */
export async function migrateToLatest(db: Kysely<any>, app: AppMigrations = {}): Promise<MigrationOutcome> {
  checkAppMigrations(app);
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${RUN_LOCK}::bigint)`.execute(conn);
    try {
      const applied = (await migratedByNewerRelease(conn, "rampart", migrations)) ? [] : appliedOf(await migrator(conn, "rampart", migrations).migrateToLatest(), "rampart");
      const appApplied = Object.keys(app).length > 0 && !(await migratedByNewerRelease(conn, "app", app)) ? appliedOf(await migrator(conn, "app", app).migrateToLatest(), "app") : [];
      return { applied, appApplied };
    } finally {
      await sql`select pg_advisory_unlock(${RUN_LOCK}::bigint)`.execute(conn);
    }
  });
}

/** Rampart's migrations not yet applied. */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const all = await migrator(db, "rampart", migrations).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

/** The app's migrations (of `app`) not yet applied. */
export async function pendingAppMigrations(db: Kysely<any>, app: AppMigrations): Promise<string[]> {
  checkAppMigrations(app);
  if (Object.keys(app).length === 0) return [];
  const all = await migrator(db, "app", app).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
