/** A command's io in this process: argv and env as given, stdout and stderr captured, stdin from a string. */
import { Readable, Writable } from "node:stream";
import { UsageError, type Command, type CommandIo } from "../../src/cli/command.js";
import { main } from "../../src/cli/dispatch.js";

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export function captureIo(argv: string[], env: Record<string, string | undefined>, { stdin = "", tty = false } = {}): { io: CommandIo; out: () => string; err: () => string } {
  let stdout = "";
  let stderr = "";
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString());
        done();
      },
    });
  const io: CommandIo = { argv, env, stdout: sink((s) => (stdout += s)), stderr: Object.assign(sink((s) => (stderr += s)), { isTTY: tty, columns: 100 }), stdin: Readable.from([stdin]) };
  return { io, out: () => stdout, err: () => stderr };
}

/** Runs `command` with `argv`; a UsageError becomes exit 2 with its message on stderr, as main() prints it. */
export async function runCommand(command: Command, argv: string[], env: Record<string, string | undefined> = {}, options: { stdin?: string; tty?: boolean } = {}): Promise<Captured> {
  const { io, out, err } = captureIo(argv, env, options);
  try {
    const code = await command.run(io);
    return { code, stdout: out(), stderr: err() };
  } catch (e) {
    if (e instanceof UsageError) return { code: 2, stdout: out(), stderr: `${err()}${e.message}\n` };
    throw e;
  }
}

/**
 * Runs the command line in this process, as `rampart ...argv` would with this environment:
 * the dispatcher of src/cli/main.ts (command lookup, --help, usage errors, one-line failures,
 * exit code) without the cost of a process. The tests of the executable itself, and of what only
 * a process shows (signals, locks held by another process, the exit code set on the process),
 * spawn it with runCli (test/helpers/process.ts).
 */
export async function runMain(argv: string[], env: Record<string, string | undefined> = {}, options: { stdin?: string; tty?: boolean } = {}): Promise<Captured> {
  const { io, out, err } = captureIo(argv, env, options);
  const code = await main(io);
  return { code, stdout: out(), stderr: err() };
}
