/** Thrown when a runtime opens a database whose schema is behind: its own module, so the CLI can recognise it without loading the runtime. */
export class PendingMigrationsError extends Error {
  override readonly name = "PendingMigrationsError";
  constructor(readonly pending: string[]) {
    const app = pending.some((n) => n.startsWith("app:")) ? "; the app's own (app:...) are applied by `rampart migrate` with RAMPART_EXTENSIONS naming the module that exports them, or by migrateToLatest(db, migrations) from the app" : "";
    super(`the database has ${pending.length} pending migration(s) (${pending.join(", ")}); run \`rampart migrate\` first${app}`);
  }
}
