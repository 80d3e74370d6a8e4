/** Every CLI command, in the order `rampart --help` lists them. */
import type { Command } from "../command.js";
import { auditCommand } from "./audit.js";
import { configCommand } from "./config.js";
import { migrateCommand } from "./migrate.js";
import { keysCommand } from "./keys.js";
import { secretsCommand } from "./secrets.js";
import { usersCommand } from "./users.js";
import { serveCommand } from "./serve.js";
import { preflightCommand } from "./preflight.js";
import { loadtestCommand } from "./loadtest.js";

export const commands: Command[] = [serveCommand, migrateCommand, configCommand, secretsCommand, keysCommand, usersCommand, auditCommand, preflightCommand, loadtestCommand];
