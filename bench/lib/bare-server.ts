/**
 * The physical limit of request cost: a bare Fastify hello-world in a process
 * of its own (default options, no hooks, no logger), driven by the same load
 * generator as the server under test. Prints `URL <url>` once listening.
 */
import { writeFileSync } from "node:fs";
import Fastify from "fastify";

const app = Fastify();
app.get("/", async () => ({ hello: "world" }));
const url = await app.listen({ port: 0, host: "127.0.0.1" });
process.stdout.write(`URL ${url}\n`);
if (process.env.BENCH_URL_FILE) writeFileSync(process.env.BENCH_URL_FILE, `URL ${url}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
