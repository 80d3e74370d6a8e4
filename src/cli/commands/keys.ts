/** `rampart keys ...`: KEK status, rotation, rewrap, retirement; access-token signing-key rotation. */
import { createIdentity } from "../../auth/identity.js";
import { loadConfig } from "../../config/index.js";
import { refString } from "../../crypto/index.js";
import { createRuntime, type Runtime } from "../../runtime/index.js";
import { UsageError, type Command, type CommandIo } from "../command.js";
import { ProgressBar } from "../progress.js";
import { cliRuntimeOptions } from "./runtime-logger.js";

const SUBCOMMANDS = ["status", "rotate", "rewrap", "retire", "rotate-signing"] as const;

async function status(runtime: Runtime, io: CommandIo): Promise<number> {
  const s = await runtime.crypto.keysStatus();
  io.stdout.write(`provider: ${s.provider}\ncurrent:  ${refString(s.current)}\n`);
  io.stdout.write(`columns:  ${s.columns.length ? s.columns.join(", ") : "(none registered)"}\n\n`);
  io.stdout.write("version                          state     subject keys  ciphertexts  created\n");
  for (const v of s.versions) {
    io.stdout.write(
      `${(refString(v.ref) + (v.current ? " *" : "")).padEnd(33)}${v.state.padEnd(10)}${String(v.subjectKeys).padStart(12)}  ${String(v.ciphertexts).padStart(11)}  ${v.createdAt?.toISOString() ?? "-"}\n`,
    );
  }
  if (s.rowsUnderOldMasterKey) io.stdout.write(`\n${s.rowsUnderOldMasterKey} KEK row(s) are still wrapped by an earlier master key: run \`rampart keys rewrap\`.\n`);
  return 0;
}

async function rewrap(runtime: Runtime, io: CommandIo): Promise<number> {
  const bars = new Map<string, ProgressBar>();
  const result = await runtime.crypto.rewrap({
    onProgress: (p) => {
      let bar = bars.get(p.target);
      if (!bar) bars.set(p.target, (bar = new ProgressBar(io.stderr, `rewrap ${p.target}`)));
      bar.update(p.done, p.total, `(${p.rewrapped} rewrapped)`);
      if (p.done >= p.total) bar.finish();
    },
  });
  io.stdout.write(`rewrapped to ${refString(result.target)}: ${result.subjectKeys} subject key(s), ${result.ciphertexts} ciphertext(s)${result.failed ? `, ${result.failed} FAILED` : ""}\n`);
  return result.failed > 0 ? 1 : 0;
}

export const keysCommand: Command = {
  name: "keys",
  usage: `Usage: rampart keys status
       rampart keys rotate
       rampart keys rewrap
       rampart keys retire VERSION
       rampart keys rotate-signing

status          KEK versions, what depends on each, the current one
rotate          a new KEK version; new data keys are wrapped by it at once
rewrap          re-wraps stored data keys under the current version without
                touching payloads (batched, resumable, with a progress bar)
retire VERSION  retires a KEK version; refused while anything depends on it
rotate-signing  a new access-token signing key: published in the JWKS now,
                signing after the publish delay; the old one stays published
                for the token lifetime plus skew

RAMPART_KMS may name a KEK provider of the app: the module RAMPART_EXTENSIONS
names exports it in \`kekProviders\`.`,
  async run(io) {
    const [sub, ...rest] = io.argv;
    if (!SUBCOMMANDS.includes(sub as (typeof SUBCOMMANDS)[number])) throw new UsageError(sub === undefined ? "missing subcommand" : `unknown subcommand '${sub}'`);
    if (sub === "retire" ? rest.length !== 1 || !/^\d+$/.test(rest[0]!) : rest.length > 0) throw new UsageError(sub === "retire" ? "retire takes one version number" : `${sub} takes no arguments`);
    const config = loadConfig(io.env);
    const runtime = await createRuntime(config, await cliRuntimeOptions(config, io));
    try {
      switch (sub) {
        case "status":
          return await status(runtime, io);
        case "rotate": {
          const ref = await runtime.crypto.rotateKek();
          io.stdout.write(`new KEK version ${refString(ref)} is current; run \`rampart keys rewrap\` to move stored keys to it\n`);
          return 0;
        }
        case "rewrap":
          return await rewrap(runtime, io);
        case "retire":
          await runtime.crypto.retireKek(Number(rest[0]));
          io.stdout.write(`KEK version ${rest[0]} retired\n`);
          return 0;
        default: {
          const identity = await createIdentity(runtime, { deliverMail: false });
          try {
            const r = await identity.tokens.rotate();
            io.stdout.write(`${JSON.stringify(r)}\n`);
            await runtime.events.emit("signing-key.rotated", { actor: { type: "system" }, target: `signing-key:${r.kid}`, data: { via: "cli", activatesAt: new Date(r.activatesAt).toISOString(), created: r.created } });
            return 0;
          } finally {
            await identity.close();
          }
        }
      }
    } finally {
      await runtime.close();
    }
  },
};
