/**
 * Every CLI command, in the order `rampart --help` lists them. A command's
 * module, and with it the part of Rampart it needs, is imported only when
 * that command runs: `rampart --help` or `rampart config` does not load the
 * server, the database driver or the load tester.
 */
import type { Command } from "../command.js";

export interface CommandEntry {
  readonly name: string;
  /** One line for `rampart --help`. */
  readonly summary: string;
  load(): Promise<Command>;
}

export const commands: readonly CommandEntry[] = [
  { name: "serve", summary: "Run the HTTP server (embedded database unless DATABASE_URL is set)", load: async () => (await import("./serve.js")).serveCommand },
  { name: "migrate", summary: "Apply pending database migrations", load: async () => (await import("./migrate.js")).migrateCommand },
  { name: "config", summary: "Print the effective configuration (secrets masked)", load: async () => (await import("./config.js")).configCommand },
  { name: "secrets", summary: "List secrets (names, providers, versions, ages) or check they resolve", load: async () => (await import("./secrets.js")).secretsCommand },
  { name: "keys", summary: "Envelope-encryption keys (status, rotate, rewrap, retire) and signing keys", load: async () => (await import("./keys.js")).keysCommand },
  { name: "users", summary: "Create the first admin account", load: async () => (await import("./users.js")).usersCommand },
  { name: "audit", summary: "Verify the tamper-evident audit log", load: async () => (await import("./audit.js")).auditCommand },
  { name: "preflight", summary: "Check the configuration against what production refuses; exit 1 listing every problem", load: async () => (await import("./preflight.js")).preflightCommand },
  { name: "loadtest", summary: "Load-test a server with user journeys at a scheduled rate; budgets and reports", load: async () => (await import("./loadtest.js")).loadtestCommand },
];
