/**
 * Applies and inspects migrations. Kysely's Migrator takes a transaction-scoped
 * advisory lock (pg_advisory_xact_lock) around the run on Postgres and PGlite,
 * so several instances migrating at once apply each migration exactly once.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the migrator runs on any schema */
import { Migrator, type Kysely, type MigrationResultSet } from "kysely";
import { migrations } from "./migrations/index.js";

function migrator(db: Kysely<any>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: "rampart_migrations",
    migrationLockTableName: "rampart_migrations_lock",
  });
}

export interface MigrationOutcome {
  applied: string[];
}

export async function migrateToLatest(db: Kysely<any>): Promise<MigrationOutcome> {
  const result: MigrationResultSet = await migrator(db).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName;
    throw new Error(`migration ${failed ?? "(unknown)"} failed: ${result.error instanceof Error ? result.error.message : String(result.error)}`, { cause: result.error });
  }
  return { applied: (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName) };
}

export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const all = await migrator(db).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
