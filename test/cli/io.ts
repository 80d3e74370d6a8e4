/** A command's io in this process: argv and env as given, stdout and stderr captured, stdin from a string. */
import { Readable, Writable } from "node:stream";
import { UsageError, type Command, type CommandIo } from "../../src/cli/command.js";

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
