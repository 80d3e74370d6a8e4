/** `rampart serve`: runs the HTTP server, alone or as N workers on one port, until SIGTERM/SIGINT. */
import { parseArgs } from "node:util";
import { configSpec, loadConfig, type Config } from "../../config/index.js";
import { SecretRedactor } from "../../log/index.js";
import { runtimeLogger } from "../../runtime/index.js";
import { systemClock } from "../../runtime/clock.js";
import { resolveConnectionUrlsOnce, secretsProviderRegistry } from "../../secrets/index.js";
import { clusterProblems, isClusterWorker, reportWorkerReady, runCluster, workerCount, workerLogBindings } from "../../server/cluster.js";
import { serve } from "../../server/serve.js";
import { UsageError, type Command, type CommandIo } from "../command.js";
import { loadExtensions } from "../extensions.js";

export const serveCommand: Command = {
  name: "serve",
  usage: `Usage: rampart serve [--workers N|auto]

Starts the API server on HOST:PORT (default 127.0.0.1:8080). Without
DATABASE_URL it uses the embedded database in RAMPART_DATA_DIR and migrates it;
against PostgreSQL in production it refuses to start on pending migrations
(run \`rampart migrate\`). SIGTERM/SIGINT stop it gracefully: readiness fails
for SHUTDOWN_DRAIN_MS while requests are still served, then in-flight requests
get SHUTDOWN_TIMEOUT_MS. The app's KEK providers, secrets schemes and
migrations come from the module RAMPART_EXTENSIONS names.

  --workers N|auto   run N server processes on the port (node:cluster),
                     overriding WORKERS; \`auto\` is one per CPU core. Default
                     1: this process serves alone. More than 1 needs
                     DATABASE_URL and REDIS_URL. The first worker starts (and
                     migrates, outside production) before the others; a
                     worker that dies is replaced after a back-off (100 ms
                     doubling to 30 s); SIGTERM/SIGINT drain every worker, and
                     the exit code is 0 when all of them stopped cleanly.

Configuration comes from the environment; see \`rampart config\`.`,
  async run(io) {
    const flag = workersFlag(io.argv);
    const config = loadConfig(flag === undefined ? io.env : { ...io.env, WORKERS: flag });
    // A worker the primary below forked: the same command line, one server.
    if (isClusterWorker()) {
      await serveWorker(config, io);
      return -1;
    }
    const count = workerCount(config.workers);
    if (count === 1) {
      await serve(config, { handleSignals: true, runtime: await loadExtensions(io.env) });
      return -1; // keep running
    }
    const redactor = new SecretRedactor();
    const log = runtimeLogger(config, {}, redactor).child({ pid: process.pid });
    // The connection URLs may come from secrets; workers are refused only when neither holds them.
    const { secretsProviders } = await loadExtensions(io.env);
    const stores = await resolveConnectionUrlsOnce(config, { env: io.env, log, redactor, clock: systemClock, schemes: secretsProviderRegistry(secretsProviders) });
    const problems = clusterProblems(stores);
    if (problems.length > 0) {
      const asked = flag === undefined ? `WORKERS=${io.env.WORKERS ?? ""}` : `--workers ${flag}`;
      throw new UsageError(`${asked} runs ${count} server processes, which need stores they all share: ${problems.join("; ")}`);
    }
    return await runCluster({ workers: count, config, log });
  },
};

/** The value of `--workers` (checked like WORKERS), or undefined without the flag. */
function workersFlag(argv: string[]): string | undefined {
  let value: string | undefined;
  try {
    ({ values: { workers: value } } = parseArgs({ args: argv, options: { workers: { type: "string" } }, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (value === undefined) return undefined;
  try {
    configSpec.workers.parse(value);
  } catch {
    throw new UsageError(`--workers takes auto or an integer from 1 to 256, instead got '${value}'`);
  }
  return value.trim();
}

/** One worker of the cluster: serve() with log lines naming the worker, then tell the primary it listens. */
async function serveWorker(config: Config, io: CommandIo): Promise<void> {
  const redactor = new SecretRedactor();
  const logger = runtimeLogger(config, {}, redactor).child(workerLogBindings());
  try {
    await serve(config, { handleSignals: true, runtime: { ...(await loadExtensions(io.env)), redactor, logger } });
  } catch (err) {
    // The channel to the primary would keep this process alive after the entry point has reported the error.
    process.channel?.unref();
    throw err;
  }
  reportWorkerReady();
}
