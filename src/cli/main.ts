#!/usr/bin/env node
/**
 * The `rampart` command line: dispatches to one command, prints its errors as
 * one clear line (configuration errors name the variable), and sets the exit
 * code (0 ok, 1 failure, 2 usage).
 */
import { ConfigError } from "../config/index.js";
import { DataDirLockedError } from "../db/index.js";
import { PendingMigrationsError } from "../runtime/index.js";
import { PreflightError } from "../server/preflight.js";
import { VERSION } from "../version.js";
import { UsageError, wantsHelp, type Command, type CommandIo } from "./command.js";
import { commands } from "./commands/index.js";
import { extensionsHint } from "./extensions.js";

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
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`rampart: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
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
    const hint = extensionsHint(err, io.env);
    const withHint = (message: string) => (hint ? `${message} (${hint})` : message);
    if (err instanceof ConfigError) {
      io.stderr.write(`rampart: invalid configuration: ${withHint(err.message)}\n`);
      return 1;
    }
    if (err instanceof PreflightError) {
      io.stderr.write(`rampart ${command.name}: ${err.message}\nRun \`rampart preflight\` to check a configuration; docs/preflight.md lists what production refuses.\n`);
      return 1;
    }
    if (err instanceof PendingMigrationsError || err instanceof DataDirLockedError) {
      io.stderr.write(`rampart ${command.name}: ${err.message}\n`);
      return 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`rampart ${command.name}: ${withHint(message)}\n`);
    return 1;
  }
}

const io: CommandIo = { argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
const code = await main(io);
if (code >= 0) process.exitCode = code;
