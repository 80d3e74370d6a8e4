/** `rampart preflight`: checks the configuration against everything production refuses. */
import { loadConfig } from "../../config/index.js";
import { createLogger, SecretRedactor } from "../../log/index.js";
import { formatProblems, runPreflight } from "../../server/preflight.js";
import { UsageError, type Command } from "../command.js";
import { loadExtensions } from "../extensions.js";

export const preflightCommand: Command = {
  name: "preflight",
  usage: `Usage: rampart preflight

Checks the configuration in the environment as production would, whatever
NODE_ENV says: development or missing master-key / blind-index-key, weak
argon2 parameters, secrets read over plain HTTP, wildcard CORS with
credentials, plain-http CORS origins, rate limiting switched off, a public URL
that is not HTTPS, HSTS shorter than a year, several instances on memory stores
or the embedded database, no SMTP_URL. Prints every problem and exits 1, or
prints "preflight passed" and exits 0. \`serve\` runs the same check when
NODE_ENV=production. The app's KEK providers and secrets schemes
(RAMPART_EXTENSIONS) are known to it and their own checks run. See
docs/preflight.md.`,
  async run(io) {
    if (io.argv.length > 0) throw new UsageError(`preflight takes no arguments, instead got '${io.argv[0]}'`);
    const config = loadConfig(io.env);
    const { kekProviders, secretsProviders } = await loadExtensions(io.env);
    const log = createLogger({ level: "warn", format: "json", redactor: new SecretRedactor(), destination: io.stderr as never });
    const problems = await runPreflight(config, { env: io.env, log, ...(kekProviders ? { kekProviders } : {}), ...(secretsProviders ? { secretsProviders } : {}) });
    if (problems.length > 0) {
      io.stderr.write(`rampart preflight: ${problems.length} problem(s) production refuses:\n${formatProblems(problems)}\n`);
      return 1;
    }
    io.stdout.write(`preflight passed${config.nodeEnv === "production" ? "" : ` (checked as production; NODE_ENV is ${config.nodeEnv})`}\n`);
    return 0;
  },
};
