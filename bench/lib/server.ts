/**
 * The benchmark server: the real `serve` with a plain hello-world route added
 * (`GET /bench/hello`), so every route is measured against a baseline on the
 * same server in the same run. Started as a child process by bench/lib/http.ts
 * so the load generator does not share its event loop.
 */
import { writeFileSync } from "node:fs";
import { loadConfig } from "../../src/config/index.js";
import { serve } from "../../src/server/serve.js";

const server = await serve(loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" }), {
  handleSignals: true,
  configure: (app) => {
    app.get("/bench/hello", async () => ({ hello: "world" }));
  },
});
process.stdout.write(`URL ${server.url}\n`);
// With its logs going to a file, the harness reads the address from a file of its own.
if (process.env.BENCH_URL_FILE) writeFileSync(process.env.BENCH_URL_FILE, `URL ${server.url}\n`);
