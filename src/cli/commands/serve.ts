/** `rampart serve`: runs the HTTP server until SIGTERM/SIGINT. */
import { loadConfig } from "../../config/index.js";
import { serve } from "../../server/serve.js";
import { UsageError, type Command } from "../command.js";
import { loadExtensions } from "../extensions.js";

export const serveCommand: Command = {
  name: "serve",
  summary: "Run the HTTP server (embedded database unless DATABASE_URL is set)",
  usage: `Usage: rampart serve

Starts the API server on HOST:PORT (default 127.0.0.1:8080). Without
DATABASE_URL it uses the embedded database in RAMPART_DATA_DIR and migrates it;
against PostgreSQL in production it refuses to start on pending migrations
(run \`rampart migrate\`). SIGTERM/SIGINT stop it gracefully. The app's KEK
providers, secrets schemes and migrations come from the module
RAMPART_EXTENSIONS names.

Configuration comes from the environment; see \`rampart config\`.`,
  async run(io) {
    if (io.argv.length > 0) throw new UsageError(`serve takes no arguments, instead got '${io.argv[0]}'`);
    const config = loadConfig(io.env);
    await serve(config, { handleSignals: true, runtime: await loadExtensions(io.env) });
    return -1; // keep running
  },
};
