/** `rampart audit verify`: walks the audit hash chain; exits 1 naming the first bad entry. */
import { parseArgs } from "node:util";
import { loadConfig } from "../../config/index.js";
import { createRuntime } from "../../runtime/index.js";
import { UsageError, type Command } from "../command.js";
import { ProgressBar } from "../progress.js";
import { cliRuntimeOptions } from "./runtime-logger.js";

export const auditCommand: Command = {
  name: "audit",
  usage: `Usage: rampart audit verify [--expect-head SEQ:HASH]

Walks the whole hash chain with a progress bar: every entry must follow the
previous one (no gaps, no reordering) and match its hash (no alteration), and
the chain must end at the head row. Exits 1 naming the first bad sequence
number.

  --expect-head SEQ:HASH   a head written to the log earlier ("audit chain
                           head"); fails when the chain no longer contains
                           it, which detects a truncated tail`,
  async run(io) {
    const [sub, ...rest] = io.argv;
    if (sub !== "verify") throw new UsageError(sub === undefined ? "missing subcommand (verify)" : `unknown subcommand '${sub}'`);
    let expect: { seq: number; hash: string } | undefined;
    try {
      const { values } = parseArgs({ args: rest, options: { "expect-head": { type: "string" } }, strict: true });
      const raw = values["expect-head"];
      if (raw !== undefined) {
        const m = /^(\d+):([0-9a-f]{64})$/.exec(raw);
        if (!m) throw new Error(`--expect-head takes SEQ:HASH (64 hex), instead got '${raw}'`);
        expect = { seq: Number(m[1]), hash: m[2]! };
      }
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const config = loadConfig(io.env);
    const runtime = await createRuntime(config, await cliRuntimeOptions(config, io));
    try {
      const bar = new ProgressBar(io.stderr, "verify audit chain");
      const result = await runtime.audit.verify({ onProgress: (done, total) => bar.update(done, total), ...(expect ? { expectHead: expect } : {}) });
      bar.finish();
      if (result.ok) {
        io.stdout.write(`audit chain OK: ${result.entries} entries, head ${result.head.seq}:${result.head.hash}\n`);
        return 0;
      }
      io.stdout.write(`audit chain BROKEN at sequence ${result.firstBadSeq}: ${result.reason} (${result.entries} entries verified before it)\n`);
      return 1;
    } finally {
      await runtime.close();
    }
  },
};
