/**
 * The shape of a CLI command and the errors the entry point turns into one
 * clear line and an exit code (1: failure, 2: usage).
 */

export interface CommandIo {
  argv: string[];
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface Command {
  name: string;
  usage: string;
  /** Returns the exit code; a long-running command (serve) resolves once started and keeps the process alive. */
  run(io: CommandIo): Promise<number>;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function wantsHelp(argv: string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}
