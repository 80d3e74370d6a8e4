/**
 * Runtime options for one-shot CLI commands: warnings and errors only, JSON
 * to stderr, through the same redactor the runtime registers secrets with;
 * and the app's extensions (RAMPART_EXTENSIONS), so the runtime knows the
 * KEK providers, secrets schemes and migrations the app's own runtime has.
 */
import type { Config } from "../../config/index.js";
import { createLogger, SecretRedactor } from "../../log/index.js";
import type { RuntimeOptions } from "../../runtime/index.js";
import type { CommandIo } from "../command.js";
import { loadExtensions } from "../extensions.js";

export async function cliRuntimeOptions(config: Config, io: CommandIo): Promise<RuntimeOptions> {
  const extensions = await loadExtensions(io.env);
  const redactor = new SecretRedactor();
  const logger = createLogger({ level: config.logLevel === "info" ? "warn" : config.logLevel, format: "json", redactor, destination: io.stderr as never });
  return { ...extensions, logger, redactor, env: io.env };
}
