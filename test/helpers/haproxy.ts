/**
 * HAProxy (Debian's package) in front of Rampart instances, for the cluster
 * tests. The configuration follows deploy/haproxy/haproxy.cfg: `leastconn`,
 * readiness checks on `/health/ready` expecting 200, `option redispatch`,
 * `retries 2` on connection failures only, `X-Forwarded-For`, `/metrics`
 * denied. It differs where a test must: loopback ports, no TLS, checks every
 * `checkIntervalMs` instead of 2 s (each still given 2 s to answer, as there),
 * no `slowstart` (it only ramps a new server's weight), and a CSV stats page
 * that tells the test what HAProxy thinks of each server.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pollUntil } from "./async.js";

/** The haproxy binary: Debian installs it in /usr/sbin, which a user's PATH may lack. */
export const HAPROXY = existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy";

/** A TCP port of 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface HaproxyOptions {
  /** Port of the public frontend on 127.0.0.1. */
  port: number;
  /** Port of the stats page on 127.0.0.1. */
  statsPort: number;
  servers: readonly { name: string; port: number }[];
  /** Health check interval; a server is taken out after 2 failed checks and back in after 2 passed ones. */
  checkIntervalMs: number;
}

export function haproxyConfig(o: HaproxyOptions): string {
  return `global
    log stdout format raw local0 info
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    option redispatch
    retries 2
    # Only a connection that failed carried no request: anything else may have been processed.
    retry-on conn-failure
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout check 2s

frontend public
    bind 127.0.0.1:${o.port}
    option forwardfor
    http-request deny deny_status 404 if { path /metrics } || { path_beg /metrics/ }
    default_backend rampart

backend rampart
    balance leastconn
    option httpchk
    http-check send meth GET uri /health/ready ver HTTP/1.1 hdr Host rampart
    http-check expect status 200
    default-server inter ${o.checkIntervalMs}ms fall 2 rise 2
${o.servers.map((s) => `    server ${s.name} 127.0.0.1:${s.port} check`).join("\n")}

listen stats
    bind 127.0.0.1:${o.statsPort}
    stats enable
    stats uri /stats
`;
}

export interface Haproxy {
  /** `http://127.0.0.1:port` of the frontend. */
  url: string;
  /** What HAProxy wrote (its request log and warnings). */
  output(): string;
  /** Each server's state as the stats page shows it: `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/2` (coming up), ... */
  states(): Promise<Map<string, string>>;
  /** Resolves once `accept` accepts the server's state; rejects with the last state seen after `timeoutMs`. */
  waitForState(server: string, accept: (state: string) => boolean, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Checks the configuration with `haproxy -c`, then runs HAProxy in the foreground until stop(). */
export async function startHaproxy(o: HaproxyOptions): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), "rampart-haproxy-"));
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(cfg, haproxyConfig(o));
  const check = spawnSync(HAPROXY, ["-c", "-f", cfg], { encoding: "utf8" });
  if (check.error) throw new Error(`${HAPROXY} could not run: ${check.error.message}`);
  if (check.status !== 0) throw new Error(`haproxy -c refused the configuration: ${check.stdout}${check.stderr}`);

  const child = spawn(HAPROXY, ["-db", "-f", cfg], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const statsUrl = `http://127.0.0.1:${o.statsPort}/stats;csv`;

  const states = async (): Promise<Map<string, string>> => {
    const [header, ...rows] = (await get(statsUrl)).trim().split("\n");
    const columns = header!.replace(/^# /, "").split(",");
    const px = columns.indexOf("pxname");
    const sv = columns.indexOf("svname");
    const status = columns.indexOf("status");
    const result = new Map<string, string>();
    for (const row of rows) {
      const cells = row.split(",");
      if (cells[px] === "rampart" && cells[sv] !== "BACKEND") result.set(cells[sv]!, cells[status]!);
    }
    return result;
  };

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const up = await pollUntil(
    () => states().then(() => true, () => child.exitCode !== null),
    (answered) => answered,
    10_000,
  );
  if (!up || child.exitCode !== null) {
    await stop();
    throw new Error(`haproxy did not start: ${out}`);
  }

  return {
    url: `http://127.0.0.1:${o.port}`,
    output: () => out,
    states,
    async waitForState(server, accept, timeoutMs = 20_000) {
      const state = await pollUntil(async () => (await states()).get(server) ?? "(no such server)", accept, timeoutMs);
      if (!accept(state)) throw new Error(`haproxy: ${server} is still ${state} after ${timeoutMs} ms`);
      return state;
    },
    stop,
  };
}
