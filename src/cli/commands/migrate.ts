/** `rampart migrate`: applies pending migrations (safe with several instances at once). */
import { loadConfig } from "../../config/index.js";
import { migrateToLatest, openDatabase, pendingMigrations } from "../../db/index.js";
import { UsageError, type Command } from "../command.js";

export const migrateCommand: Command = {
  name: "migrate",
  summary: "Apply pending database migrations",
  usage: `Usage: rampart migrate [--status]

Applies every pending migration to the database (DATABASE_URL, or the embedded
one in RAMPART_DATA_DIR; stop the server first in embedded mode). Several
instances may run it at once: a database lock serializes them.
A host app's own migrations are not known to this command: the app applies
them with createRuntime({ migrations }) or migrateToLatest(db, migrations).

  --status   list pending migrations and exit (1 when any is pending)`,
  async run(io) {
    const statusOnly = io.argv.includes("--status");
    const unknown = io.argv.filter((a) => a !== "--status");
    if (unknown.length > 0) throw new UsageError(`unknown option '${unknown[0]}'`);
    const config = loadConfig(io.env);
    const db = await openDatabase(config);
    try {
      if (statusOnly) {
        const pending = await pendingMigrations(db.kysely);
        io.stdout.write(pending.length === 0 ? "database is up to date\n" : `pending: ${pending.join(", ")}\n`);
        return pending.length === 0 ? 0 : 1;
      }
      const { applied } = await migrateToLatest(db.kysely);
      io.stdout.write(applied.length === 0 ? "database is up to date\n" : `applied: ${applied.join(", ")}\n`);
      return 0;
    } finally {
      await db.close();
    }
  },
};
