/** `rampart config`: prints the effective configuration, secrets masked. */
import { describeConfig, loadConfig } from "../../config/index.js";
import { UsageError, type Command } from "../command.js";

export const configCommand: Command = {
  name: "config",
  usage: `Usage: rampart config [--json]

Validates the environment and prints every setting with its effective value;
secret values are masked. Exits 1 with the offending variable when a value is
invalid.

  --json   machine-readable output`,
  async run(io) {
    const json = io.argv.includes("--json");
    const unknown = io.argv.filter((a) => a !== "--json");
    if (unknown.length > 0) throw new UsageError(`unknown option '${unknown[0]}'`);
    const rows = describeConfig(loadConfig(io.env));
    if (json) {
      io.stdout.write(`${JSON.stringify(Object.fromEntries(rows.map((r) => [r.env, r.value])), null, 2)}\n`);
      return 0;
    }
    const width = Math.max(...rows.map((r) => r.env.length));
    for (const r of rows) io.stdout.write(`${r.env.padEnd(width)}  ${r.value}${r.isDefault ? "  (default)" : ""}\n`);
    return 0;
  },
};
