/**
 * A throwaway PostgreSQL server for tests that need what the shared test
 * server does not have: password authentication on TCP (scram-sha-256; the
 * shared server trusts loopback, so a wrong password would pass) and TLS with
 * a certificate from a CA the test made (openssl). initdb and postgres come
 * from PostgreSQL's bin directory (PG_BIN, else the newest
 * /usr/lib/postgresql/<version>/bin); postgres refuses to run as root, so
 * when the tests do they run as the `postgres` user (runuser), in a
 * temporary directory owned by it. The superuser connects over a unix socket
 * in that directory (trust); TCP listens on a free loopback port. Durability
 * is off (fsync, full-page writes): the data dies with the test.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export interface PgServerOptions {
  /** Authentication of TCP connections (pg_hba.conf `host` lines); default scram-sha-256. */
  hostAuth?: "scram-sha-256" | "trust";
  /** A server certificate and key (PEM): TLS on. */
  tls?: { cert: string; key: string };
  /** Loopback addresses to listen on besides 127.0.0.1 (e.g. 127.0.0.2). */
  extraListen?: string[];
}

export interface PgServer {
  readonly port: number;
  /** The directory of the unix socket (the superuser's way in). */
  readonly socketDir: string;
  /** Runs one statement as the superuser over the unix socket. */
  query<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[], database?: string): Promise<T[]>;
  /** A TCP URL (`postgres://user:password@host:port/database`), host 127.0.0.1 unless given. */
  url(user: string, password: string | undefined, database: string, host?: string): string;
  /** Replaces the server's certificate and key and reloads the configuration: new connections get the new one. */
  replaceCertificate(tls: { cert: string; key: string }): Promise<void>;
  /** Stops the server (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

/** PostgreSQL's bin directory; throws naming what is missing (a services test fails, never skips). */
export function pgBinDir(): string {
  const given = process.env.PG_BIN;
  if (given) return given;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) throw new Error(`no PostgreSQL server binaries (initdb) under ${root}; install postgresql or set PG_BIN`);
  return join(root, newest, "bin");
}

/** uid and gid the server runs as: `postgres` when this process is root, else this process's. */
function serverUser(): { uid: number; gid: number; asRoot: boolean } {
  if (process.getuid?.() !== 0) return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, asRoot: false };
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g"), asRoot: true };
}

function asServerUser(asRoot: boolean, command: string, args: string[]): [string, string[]] {
  return asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

/** A TCP port free on every address in `hosts` at the time of asking. */
async function freePort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(0, hosts[0], () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const others = await Promise.all(
      hosts.slice(1).map(
        (h) =>
          new Promise<boolean>((resolve) => {
            const s = createServer();
            s.once("error", () => resolve(false));
            s.listen(port, h, () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (others.every(Boolean)) return port;
  }
  throw new Error("no free port");
}

export async function startPgServer(options: PgServerOptions = {}): Promise<PgServer> {
  const bin = pgBinDir();
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), "rampart-pg-"));
  const data = join(dir, "data");
  const socketDir = join(dir, "sock");
  mkdirSync(socketDir);
  const own = (path: string) => chownSync(path, user.uid, user.gid);
  own(dir);
  own(socketDir);
  const run = (command: string, args: string[]) => {
    const [cmd, argv] = asServerUser(user.asRoot, join(bin, command), args);
    execFileSync(cmd, argv, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  };
  try {
    run("initdb", ["-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions"]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`initdb failed: ${stderr || (err as Error).message}`);
  }
  const method = options.hostAuth ?? "scram-sha-256";
  // The whole of 127.0.0.0/8: tests reach the server under more than one loopback address.
  writeFileSync(join(data, "pg_hba.conf"), `local all all trust\nhost all all 127.0.0.0/8 ${method}\nhost all all ::1/128 ${method}\n`);
  own(join(data, "pg_hba.conf"));
  const settings: Record<string, string> = {
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    shared_buffers: "16MB",
    max_connections: "60",
    unix_socket_directories: socketDir,
    password_encryption: "scram-sha-256",
    log_min_messages: "warning",
  };
  const writeTls = (tls: { cert: string; key: string }) => {
    for (const [name, pem] of [["server.crt", tls.cert], ["server.key", tls.key]] as const) {
      const file = join(data, name);
      writeFileSync(file, pem);
      own(file);
      // postgres refuses a key others can read.
      chmodSync(file, 0o600);
    }
  };
  if (options.tls) {
    writeTls(options.tls);
    Object.assign(settings, { ssl: "on", ssl_cert_file: join(data, "server.crt"), ssl_key_file: join(data, "server.key") });
  }
  const listen = ["127.0.0.1", ...(options.extraListen ?? [])];
  const port = await freePort(listen);
  settings.listen_addresses = listen.join(",");
  settings.port = String(port);
  const args = ["-D", data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  const [cmd, argv] = asServerUser(user.asRoot, join(bin, "postgres"), args);
  const child: ChildProcess = spawn(cmd, argv, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let running = true;
  void exited.then(() => (running = false));

  const connect = async (database = "postgres") => {
    const client = new pg.Client({ host: socketDir, port, user: "postgres", database });
    client.on("error", () => undefined);
    await client.connect();
    return client;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const c = await connect();
      await c.end();
      break;
    } catch (err) {
      if (!running || Date.now() > deadline) {
        await stopChild();
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function stopChild(): Promise<void> {
    if (!running) return;
    // The postmaster (runuser's child when run as root): SIGINT is PostgreSQL's fast shutdown.
    const pidFile = join(data, "postmaster.pid");
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : child.pid;
    if (pid) process.kill(pid, "SIGINT");
    const timer = setTimeout(() => {
      if (pid && running) process.kill(pid, "SIGQUIT");
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }

  async function query<T extends Record<string, unknown>>(text: string, params: unknown[] = [], database?: string): Promise<T[]> {
    const c = await connect(database);
    try {
      return (await c.query<T>(text, params)).rows;
    } finally {
      await c.end();
    }
  }

  return {
    port,
    socketDir,
    query,
    url(name, password, database, host = "127.0.0.1") {
      const auth = password === undefined ? encodeURIComponent(name) : `${encodeURIComponent(name)}:${encodeURIComponent(password)}`;
      return `postgres://${auth}@${host}:${port}/${database}`;
    },
    async replaceCertificate(tls) {
      writeTls(tls);
      await query("select pg_reload_conf()");
    },
    async stop() {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A certificate authority made with openssl for one test. */
export interface TestCa {
  readonly name: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** A key pair and certificate, PEM. */
export interface Issued {
  readonly cert: string;
  readonly key: string;
}

/** A self-signed CA (P-256) valid for a day, in `dir`. */
export function createTestCa(dir: string, name: string): TestCa {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], { stdio: "pipe" });
  return { name, certFile, keyFile };
}

/** A server certificate signed by `ca` for the given DNS names and IP addresses (subjectAltName). */
export function issueServerCertificate(ca: TestCa, dir: string, name: string, altNames: { dns?: string[]; ip?: string[] }): Issued {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  const san = [...(altNames.dns ?? []).map((d) => `DNS:${d}`), ...(altNames.ip ?? []).map((i) => `IP:${i}`)].join(",");
  writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  const cn = altNames.dns?.[0] ?? altNames.ip?.[0] ?? name;
  execFileSync("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${cn}`], { stdio: "pipe" });
  execFileSync("openssl", ["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial", "-out", cert, "-days", "1", "-extfile", ext], { stdio: "pipe" });
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}
