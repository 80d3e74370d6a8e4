/**
 * CLI commands run in this process (their `run(io)`, as main() calls it):
 * usage errors name what was wrong, and the commands that open the runtime
 * do what they print — an admin created or refused by the password policy, a
 * signing key rotated (and audited), the audit chain checked against a head
 * written earlier. The child-process path through main() is in cli.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditCommand } from "../../src/cli/commands/audit.js";
import { configCommand } from "../../src/cli/commands/config.js";
import { keysCommand } from "../../src/cli/commands/keys.js";
import { preflightCommand } from "../../src/cli/commands/preflight.js";
import { secretsCommand } from "../../src/cli/commands/secrets.js";
import { serveCommand } from "../../src/cli/commands/serve.js";
import { usersCommand } from "../../src/cli/commands/users.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { runCommand } from "./io.js";

describe("usage errors", () => {
  it.each([
    [usersCommand, [], "missing subcommand (create-admin)"],
    [usersCommand, ["delete"], "unknown subcommand 'delete'"],
    [usersCommand, ["create-admin", "--name", "x"], "Unknown option '--name'"],
    [usersCommand, ["create-admin"], "--email is required"],
    [keysCommand, [], "missing subcommand"],
    [keysCommand, ["shred"], "unknown subcommand 'shred'"],
    [keysCommand, ["retire"], "retire takes one version number"],
    [keysCommand, ["retire", "v1"], "retire takes one version number"],
    [keysCommand, ["status", "--all"], "status takes no arguments"],
    [auditCommand, [], "missing subcommand (verify)"],
    [auditCommand, ["repair"], "unknown subcommand 'repair'"],
    [auditCommand, ["verify", "--expect-head", "7:abc"], "--expect-head takes SEQ:HASH (64 hex), instead got '7:abc'"],
    [secretsCommand, [], "missing subcommand (list or check)"],
    [secretsCommand, ["show"], "unknown subcommand 'show'"],
    [secretsCommand, ["list", "jwt-signing"], "list takes no arguments"],
    [preflightCommand, ["--strict"], "preflight takes no arguments, instead got '--strict'"],
    [configCommand, ["--json", "--yaml"], "unknown option '--yaml'"],
    [serveCommand, ["--port", "1"], "Unknown option '--port'"],
    [serveCommand, ["--workers", "0"], "--workers takes auto or an integer from 1 to 256, instead got '0'"],
    [serveCommand, ["--workers", "many"], "--workers takes auto or an integer from 1 to 256, instead got 'many'"],
  ] as const)("%s %j: %s", async (command, argv, message) => {
    const r = await runCommand(command, [...argv]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
  });

  it("serve refuses workers without shared stores, naming the flag or the variable that asked for them", async () => {
    const flag = await runCommand(serveCommand, ["--workers", "2"], { RAMPART_DATA_DIR: "/nonexistent/rampart" });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^--workers 2 runs 2 server processes, which need stores they all share: .*DATABASE_URL/);
    const env = await runCommand(serveCommand, [], { RAMPART_DATA_DIR: "/nonexistent/rampart", WORKERS: "3" });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/^WORKERS=3 runs 3 server processes/);
  });
});

describe("config --json", () => {
  it("prints every setting as one JSON object, secrets masked", async () => {
    const r = await runCommand(configCommand, ["--json"], { PORT: "9002", DATABASE_URL: "postgres://app:Json5ecretPw@db.example:5432/prod" });
    expect(r.code).toBe(0);
    const values = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(values.PORT).toBe("9002");
    expect(values.HOST).toBe("127.0.0.1");
    expect(values.DATABASE_URL).toBe("postgres://****@db.example:5432/****");
    expect(r.stdout).not.toContain("Json5ecretPw");
  });
});

// One embedded database for the commands that open the runtime (each run opens and closes it).
describe("commands on a database", { timeout: 120_000 }, () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv("embedded");
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it("users create-admin refuses a password the policy rejects, naming why, and creates none", async () => {
    const weak = await runCommand(usersCommand, ["create-admin", "--email", "weak@example.com"], env.env, { stdin: "short\n" });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/^rampart users: .+ .*(characters|long)/m);
    expect(weak.stdout).toBe("");
    const ok = await runCommand(usersCommand, ["create-admin", "--email", "weak@example.com"], env.env, { stdin: "correct-horse-battery-staple-5512!\nignored second line\n" });
    expect(ok.stderr).not.toMatch(/"level":"error"/);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^created admin \S+ \(weak@example\.com\)\n$/);
  });

  it("keys rotate-signing prints the new key and audits it; audit verify then holds the head it printed", async () => {
    const r = await runCommand(keysCommand, ["rotate-signing"], env.env);
    expect(r.code).toBe(0);
    const rotated = JSON.parse(r.stdout) as { kid: string; activatesAt: number };
    expect(rotated.kid).toMatch(/\S/);
    expect(rotated.activatesAt).toBeGreaterThan(Date.now() - 60_000);

    const verify = await runCommand(auditCommand, ["verify"], env.env);
    expect(verify.code).toBe(0);
    const head = /^audit chain OK: (\d+) entries, head (\d+):([0-9a-f]{64})\n$/.exec(verify.stdout);
    expect(head, verify.stdout).not.toBeNull();
    expect(Number(head![1])).toBeGreaterThanOrEqual(1);

    const held = await runCommand(auditCommand, ["verify", "--expect-head", `${head![2]}:${head![3]}`], env.env);
    expect(held.code).toBe(0);
    expect(held.stdout).toBe(verify.stdout);

    // A head the chain does not contain (same sequence, another hash): a truncated or rewritten tail.
    const other = head![3]!.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const broken = await runCommand(auditCommand, ["verify", "--expect-head", `${head![2]}:${other}`], env.env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^audit chain BROKEN at sequence \d+: /);
  });

  it("keys rewrap draws its progress bar on a terminal", async () => {
    const r = await runCommand(keysCommand, ["rewrap"], env.env, { tty: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rewrapped to \S+: \d+ subject key\(s\), \d+ ciphertext\(s\)\n$/);
    // Each redraw starts with a carriage return and ends at 100 % of its target.
    expect(r.stderr).toMatch(/\rrewrap \S+ \[#+\]\s+100% (\d+)\/\1 \(\d+ rewrapped\)\n/);
  });
});
