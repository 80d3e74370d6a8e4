/** `rampart users create-admin --email`: the first admin, never with a default password. */
import { parseArgs } from "node:util";
import { createIdentity } from "../../auth/identity.js";
import { createAdmin } from "../../auth/flows/bootstrap.js";
import { loadConfig } from "../../config/index.js";
import { RampartError } from "../../errors/index.js";
import { createRuntime } from "../../runtime/index.js";
import { UsageError, type Command } from "../command.js";
import { readSecret } from "../prompt.js";
import { cliRuntimeOptions } from "./runtime-logger.js";

export const usersCommand: Command = {
  name: "users",
  usage: `Usage: rampart users create-admin --email EMAIL

Creates an account with the admin role. The password is prompted for on a
terminal (not echoed) or read from the first line of stdin; it must pass the
password policy. In embedded mode, stop the server first (the database
directory is locked while it runs).`,
  async run(io) {
    const [sub, ...rest] = io.argv;
    if (sub !== "create-admin") throw new UsageError(sub === undefined ? "missing subcommand (create-admin)" : `unknown subcommand '${sub}'`);
    let email: string | undefined;
    try {
      email = parseArgs({ args: rest, options: { email: { type: "string" } }, strict: true }).values.email;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!email) throw new UsageError("--email is required");
    const config = loadConfig(io.env);
    // Before the prompt: a bad RAMPART_EXTENSIONS is refused without asking for a password first.
    const options = await cliRuntimeOptions(config, io);
    const password = await readSecret(io, `Password for ${email}: `);
    const runtime = await createRuntime(config, options);
    try {
      const identity = await createIdentity(runtime, { deliverMail: false });
      try {
        const user = await createAdmin(identity, email, password);
        io.stdout.write(`created admin ${user.id} (${user.email})\n`);
        return 0;
      } catch (err) {
        if (err instanceof RampartError) {
          const fields = (err.details?.fields as { message: string }[] | undefined)?.map((f) => f.message).join("; ");
          io.stderr.write(`rampart users: ${err.message}${fields ? ` ${fields}` : ""}\n`);
          return 1;
        }
        throw err;
      } finally {
        await identity.close();
      }
    } finally {
      await runtime.close();
    }
  },
};
