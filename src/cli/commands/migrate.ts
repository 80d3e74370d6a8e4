/** `rampart migrate`: applies pending migrations, Rampart's then the app's (safe with several instances at once). */
import { loadConfig } from "../../config/index.js";
import { migrateToLatest, openDatabase, pendingAppMigrations, pendingMigrations } from "../../db/index.js";
import { systemClock } from "../../runtime/clock.js";
import { resolveConnectionUrlsOnce, secretsProviderRegistry } from "../../secrets/index.js";
import { cliRuntimeOptions } from "./runtime-logger.js";
import { UsageError, type Command } from "../command.js";

/** The app's migrations are listed as `app:<name>`, as a refused start names them. */
const appNames = (names: string[]) => names.map((n) => `app:${n}`);

export const migrateCommand: Command = {
  name: "migrate",
  usage: `Usage: rampart migrate [--status]

Applies every pending migration to the database (DATABASE_URL or the secret
database-url, or the embedded one in RAMPART_DATA_DIR; stop the server first in embedded mode): Rampart's,
then the host app's own, exported as \`migrations\` by the module
RAMPART_EXTENSIONS names (listed as app:<name>). Several instances may run it
at once: a database lock serializes them.

  --status   list pending migrations and exit (1 when any is pending)`,
  async run(io) {
    const statusOnly = io.argv.includes("--status");
    const unknown = io.argv.filter((a) => a !== "--status");
    if (unknown.length > 0) throw new UsageError(`unknown option '${unknown[0]}'`);
    const config = loadConfig(io.env);
    const { migrations = {}, secretsProviders, logger, redactor } = await cliRuntimeOptions(config, io);
    // Without DATABASE_URL, the secret database-url, as the server reads it.
    const db = await openDatabase(await resolveConnectionUrlsOnce(config, { env: io.env, log: logger!, redactor: redactor!, clock: systemClock, schemes: secretsProviderRegistry(secretsProviders) }));
    try {
      if (statusOnly) {
        const pending = [...(await pendingMigrations(db.kysely)), ...appNames(await pendingAppMigrations(db.kysely, migrations))];
        io.stdout.write(pending.length === 0 ? "database is up to date\n" : `pending: ${pending.join(", ")}\n`);
        return pending.length === 0 ? 0 : 1;
      }
      const { applied, appApplied } = await migrateToLatest(db.kysely, migrations);
      const all = [...applied, ...appNames(appApplied)];
      io.stdout.write(all.length === 0 ? "database is up to date\n" : `applied: ${all.join(", ")}\n`);
      return 0;
    } finally {
      await db.close();
    }
  },
};
