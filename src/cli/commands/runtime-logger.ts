/**
 * Runtime options for one-shot CLI commands: warnings and errors only, JSON
 * to stderr, through the same redactor the runtime registers secrets with.
 */
import type { Config } from "../../config/index.js";
import { createLogger, SecretRedactor } from "../../log/index.js";
import type { RuntimeOptions } from "../../runtime/index.js";
import type { CommandIo } from "../command.js";

export function cliRuntimeOptions(config: Config, io: CommandIo): RuntimeOptions {
  const redactor = new SecretRedactor();
  const logger = createLogger({ level: config.logLevel === "info" ? "warn" : config.logLevel, format: "json", redactor, destination: io.stderr as never });
  return { logger, redactor, env: io.env };
}
