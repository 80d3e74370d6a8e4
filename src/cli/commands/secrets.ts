/** `rampart secrets list | check`: what the provider chain holds, never a value. */
import { loadConfig } from "../../config/index.js";
import { createLogger, SecretRedactor } from "../../log/index.js";
import { systemClock } from "../../runtime/index.js";
import { createSecrets, runSecretsCheck, runSecretsList, secretsProviderRegistry } from "../../secrets/index.js";
import { UsageError, type Command } from "../command.js";
import { loadExtensions } from "../extensions.js";

export const secretsCommand: Command = {
  name: "secrets",
  usage: `Usage: rampart secrets list
       rampart secrets check [NAME ...]

list    every secret the providers of RAMPART_SECRETS hold: name, provider,
        version, age. Values are never printed.
check   resolves each NAME (default: every listed secret); exits 1 when any
        cannot be loaded, naming it and the providers tried.

The app's own schemes (secretsProviders of RAMPART_EXTENSIONS) are accepted
in RAMPART_SECRETS.`,
  async run(io) {
    const [sub, ...names] = io.argv;
    if (sub !== "list" && sub !== "check") throw new UsageError(sub === undefined ? "missing subcommand (list or check)" : `unknown subcommand '${sub}'`);
    if (sub === "list" && names.length > 0) throw new UsageError("list takes no arguments");
    const config = loadConfig(io.env);
    const { secretsProviders } = await loadExtensions(io.env);
    const redactor = new SecretRedactor();
    const log = createLogger({ level: "warn", format: "json", redactor, destination: io.stderr as never });
    const schemes = secretsProviderRegistry(secretsProviders);
    const secrets = createSecrets({ config, env: io.env, redactor, log, clock: systemClock, refreshIntervalMs: 0, schemes });
    try {
      return sub === "list" ? await runSecretsList(secrets, io.stdout) : await runSecretsCheck(secrets, names, io.stdout);
    } finally {
      await secrets.close();
    }
  },
};
