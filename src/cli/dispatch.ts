/**
 * The `rampart` command line's dispatcher: finds the command, loads its module,
 * prints its errors as one clear line (configuration errors name the variable)
 * and returns the exit code (0 ok, 1 failure, 2 usage). src/cli/main.ts runs it
 * on the process; tests run it in-process with their own io.
 */
import { VERSION } from "../version.js";
import { UsageError, wantsHelp, type CommandIo } from "./command.js";
import { commands } from "./commands/index.js";

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `rampart ${VERSION}: a production-hardened foundation for TypeScript APIs

Usage: rampart <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run \`rampart <command> --help\` for a command's options.
`;
}

export async function main(io: CommandIo): Promise<number> {
  const [name, ...rest] = io.argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    io.stderr.write(`rampart: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  if (wantsHelp(rest)) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run({ ...io, argv: rest });
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`rampart ${command.name}: ${err.message}\n\n${command.usage}\n`);
      return 2;
    }
    io.stderr.write(await describeFailure(command.name, err, io.env));
    return 1;
  }
}

/**
 * The one line a failed command prints. The error classes' modules are loaded
 * here, not up front: by the time a command has failed, the ones it could
 * throw are already loaded, and a command that succeeds never pays for them.
 */
async function describeFailure(command: string, err: unknown, env: CommandIo["env"]): Promise<string> {
  const [{ ConfigError }, { DataDirLockedError }, { PendingMigrationsError }, { PreflightError }, { extensionsHint }] = await Promise.all([
    import("../config/load.js"),
    import("../db/data-dir-lock.js"),
    import("../runtime/pending-migrations.js"),
    import("../server/preflight-error.js"),
    import("./extensions.js"),
  ]);
  const hint = extensionsHint(err, env);
  const withHint = (message: string) => (hint ? `${message} (${hint})` : message);
  if (err instanceof ConfigError) return `rampart: invalid configuration: ${withHint(err.message)}\n`;
  if (err instanceof PreflightError) {
    return `rampart ${command}: ${err.message}\nRun \`rampart preflight\` to check a configuration; docs/preflight.md lists what production refuses.\n`;
  }
  if (err instanceof PendingMigrationsError || err instanceof DataDirLockedError) return `rampart ${command}: ${err.message}\n`;
  const message = err instanceof Error ? err.message : String(err);
  return `rampart ${command}: ${withHint(message)}\n`;
}
