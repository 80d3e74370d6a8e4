/**
 * Load-test fixtures: a Rampart test server listening on loopback with rate
 * limits on (and high unless a test lowers one), the command run in this
 * process with captured output, an HTTP proxy in front of the server that
 * adds latency or answers errors on chosen routes, and a count of what the
 * test accounts left in the database.
 */
import http from "node:http";
import { sql } from "kysely";
import { loadtestCommand } from "../../src/cli/commands/loadtest.js";
import { runCommand, type Captured } from "../cli/io.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import type { ModeName } from "../helpers/modes.js";

/** Rate limits on, sized far above what a test run sends from its one IP (docs/loadtest.md#rate-limits). */
export const HIGH_LIMITS = { RATE_LIMIT_ENABLED: "true", RATE_LIMIT_REQUESTS_PER_MINUTE: "100000", RATE_LIMIT_LOGIN_PER_MINUTE: "100000", RATE_LIMIT_REGISTER_PER_MINUTE: "100000" };

export async function startRampart(mode: ModeName, env: Record<string, string> = {}): Promise<{ t: TestApp; url: string }> {
  const t = await createTestApp(mode, { env: { ...HIGH_LIMITS, ...env } });
  const url = await t.app.listen({ port: 0, host: "127.0.0.1" });
  return { t, url };
}

/** Runs `rampart loadtest ARGS` in this process; the exit code main() would give (2 for a usage error). `tty`: stderr is a terminal. */
export async function loadtest(args: string[], { tty = false } = {}): Promise<Captured> {
  return runCommand(loadtestCommand, args, {}, { tty });
}

/** Arguments that keep a test run short and its budgets out of the way of a loaded machine. */
export function quickRun(url: string, extra: string[] = []): string[] {
  const generous = ["register", "login", "me", "me-apikey", "refresh", "logout"].flatMap((e) => ["--budget", `${e}=120000`]);
  return ["--url", url, "--scenario", "baseline", "--rate", "5", "--duration", "3s", "--no-calibrate", "--setup-rate", "50", "--timeout", "60s", ...generous, ...extra];
}

export interface ProxyRule {
  method: string;
  path: string;
  /** Hold the upstream's answer this long. */
  delayMs?: number;
  /** Answer 500 INTERNAL_ERROR instead of forwarding, for every `every`-th request of the route. */
  failEvery?: number;
}

/** A reverse proxy on loopback that applies `rules` and forwards everything else unchanged. */
export async function faultProxy(upstream: string, rules: ProxyRule[]): Promise<{ url: string; hits: Map<string, number>; close(): Promise<void> }> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const rule = rules.find((r) => r.method === req.method && r.path === path);
    const n = (hits.get(`${req.method} ${path}`) ?? 0) + 1;
    hits.set(`${req.method} ${path}`, n);
    if (rule?.failEvery && n % rule.failEvery === 0) {
      req.resume();
      res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ success: false, code: "INTERNAL_ERROR", message: "injected by the test proxy", traceId: "proxy" }));
      return;
    }
    const up = http.request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, agent }, (upRes) => {
      const send = () => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      };
      if (rule?.delayMs) setTimeout(send, rule.delayMs);
      else send();
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** What the run's accounts left behind: users not erased, API keys, and sessions. */
export async function leftovers(t: TestApp): Promise<{ users: number; apiKeys: number; sessions: number }> {
  const db = t.runtime.db.kysely;
  const users = await db.selectFrom("rampart_users").select(sql<number>`count(*)::int`.as("n")).where("status", "!=", "erased").executeTakeFirstOrThrow();
  const keys = await db.selectFrom("rampart_api_keys").select(sql<number>`count(*)::int`.as("n")).executeTakeFirstOrThrow();
  const sessions = await db.selectFrom("rampart_sessions").select(sql<number>`count(*)::int`.as("n")).executeTakeFirstOrThrow();
  return { users: users.n, apiKeys: keys.n, sessions: sessions.n };
}

/** How many accounts exist at all (erased tombstones included). */
export async function accountRows(t: TestApp): Promise<number> {
  const row = await t.runtime.db.kysely.selectFrom("rampart_users").select(sql<number>`count(*)::int`.as("n")).executeTakeFirstOrThrow();
  return row.n;
}
