/**
 * The peer of the pipeline benchmark: better-auth with its defaults (email and
 * password on, no cookie cache, so `get-session` reads the session and the
 * user from PostgreSQL on every request), served by node:http through its own
 * Node handler — the lightest host it documents. Reads DATABASE_URL and
 * BETTER_AUTH_SECRET; migrates its schema; prints `URL <url>` once listening
 * (and writes it to BENCH_URL_FILE).
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const server = createServer();
server.listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const url = `http://127.0.0.1:${server.address().port}`;
const auth = betterAuth({ database: pool, baseURL: url, secret: process.env.BETTER_AUTH_SECRET, emailAndPassword: { enabled: true }, logger: { level: "error" } });
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();
server.on("request", toNodeHandler(auth));
process.stdout.write(`URL ${url}\n`);
if (process.env.BENCH_URL_FILE) writeFileSync(process.env.BENCH_URL_FILE, `URL ${url}\n`);
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    server.close();
    void pool.end().then(() => process.exit(0));
  });
}
