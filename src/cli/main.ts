#!/usr/bin/env node
/** The `rampart` executable: runs the command line (dispatch.ts) on this process's argv and streams, and sets the exit code. */
import type { CommandIo } from "./command.js";
import { main } from "./dispatch.js";

const io: CommandIo = { argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
const code = await main(io);
if (code >= 0) process.exitCode = code;
