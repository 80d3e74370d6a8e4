/**
 * Reads a secret from the terminal without echo, or the first line of stdin
 * when it is not a terminal (scripts: `echo "$PW" | rampart users create-admin`).
 */
import type { CommandIo } from "./command.js";

export async function readSecret(io: CommandIo, prompt: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!stdin.isTTY) {
    let data = "";
    for await (const chunk of stdin) data += chunk.toString();
    return data.split(/\r?\n/, 1)[0] ?? "";
  }
  io.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          done();
          resolve(value);
          return;
        }
        if (ch === "\u0003") {
          done();
          reject(new Error("cancelled"));
          return;
        }
        if (ch === "\u007f" || ch === "\b") value = [...value].slice(0, -1).join("");
        else value += ch;
      }
    };
    const done = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write("\n");
    };
    stdin.on("data", onData);
  });
}
