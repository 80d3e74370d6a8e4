/**
 * readSecret: the first line of stdin in a script; on a terminal, raw
 * keystrokes without echo (only the prompt and a newline are written), with
 * backspace and Ctrl-C, and the terminal restored afterwards.
 */
import { PassThrough, Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { CommandIo } from "../../src/cli/command.js";
import { readSecret } from "../../src/cli/prompt.js";

function io(stdin: NodeJS.ReadableStream & { isTTY?: boolean }) {
  let stderr = "";
  const value: CommandIo = {
    argv: [],
    env: {},
    stdout: new Writable({ write: (_c, _e, done) => done() }),
    stderr: new Writable({
      write(chunk: Buffer, _enc, done) {
        stderr += chunk.toString();
        done();
      },
    }),
    stdin,
  };
  return { io: value, stderr: () => stderr };
}

/** A terminal on stdin: raw mode recorded, keystrokes typed in chunks. */
function terminal() {
  const tty = Object.assign(new PassThrough(), { isTTY: true, rawModes: [] as boolean[] });
  Object.assign(tty, {
    setRawMode(mode: boolean) {
      tty.rawModes.push(mode);
      return tty;
    },
  });
  return tty;
}

describe("readSecret", () => {
  it("reads the first line of a piped stdin, CRLF or LF, and empty when there is none", async () => {
    expect(await readSecret(io(Readable.from(["pass", "word\r\nsecond\n"])).io, "Password: ")).toBe("password");
    expect(await readSecret(io(Readable.from([Buffer.from("only-line")])).io, "Password: ")).toBe("only-line");
    expect(await readSecret(io(Readable.from([])).io, "Password: ")).toBe("");
  });

  it("on a terminal: no echo, backspace removes a character, Enter ends, the terminal is restored", async () => {
    const tty = terminal();
    const t = io(tty);
    const secret = readSecret(t.io, "Password for a@example.com: ");
    tty.write("hunter2x");
    tty.write("\u007f");
    tty.write("é\bø\r");
    tty.write("after enter");
    expect(await secret).toBe("hunter2ø");
    expect(t.stderr()).toBe("Password for a@example.com: \n");
    expect(tty.rawModes).toEqual([true, false]);
    expect(tty.listenerCount("data")).toBe(0);
    expect(tty.isPaused()).toBe(true);
  });

  it("on a terminal: a newline ends it too", async () => {
    const tty = terminal();
    const secret = readSecret(io(tty).io, "> ");
    tty.write("abc\n");
    expect(await secret).toBe("abc");
  });

  it("on a terminal: Ctrl-C cancels, restoring the terminal", async () => {
    const tty = terminal();
    const t = io(tty);
    const secret = readSecret(t.io, "Password: ");
    tty.write("half\u0003rest\r");
    await expect(secret).rejects.toThrow("cancelled");
    expect(tty.rawModes).toEqual([true, false]);
    expect(t.stderr()).toBe("Password: \n");
    expect(tty.listenerCount("data")).toBe(0);
  });
});
