import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTestEnv } from "../helpers/modes.js";
import { runCli } from "../helpers/process.js";
import { runMain } from "./io.js";

// The cases run the command line in this process (runMain), except those about the executable and
// what only another process shows, which spawn it (runCli: tsx + the embedded database, seconds each).
describe("rampart CLI", { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), "rampart-cli-"));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("--help lists the commands; every command has its own --help", async () => {
    const top = await runMain(["--help"], {});
    expect(top.code).toBe(0);
    for (const c of ["serve", "migrate", "config"]) expect(top.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    for (const c of ["serve", "migrate", "config"]) {
      const r = await runMain([c, "--help"], {});
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: rampart ${c}`);
    }
  });

  it("--version and -v print the package's version; no command prints the usage and exits 2", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    for (const flag of ["--version", "-v"]) {
      const r = await runCli([flag], {});
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
    const none = await runCli([], {});
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/^Usage: rampart <command> \[options\]$/m);
  });

  it("a usage error prints the command's usage after the reason", async () => {
    const r = await runMain(["keys", "retire"], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rampart keys: retire takes one version number\n\nUsage: rampart keys status\n/);
  });

  it("serve in production refuses an unsafe configuration, listing the problems and pointing to preflight", async () => {
    const r = await runMain(["serve"], { NODE_ENV: "production", RAMPART_DATA_DIR: tmp() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rampart serve: .+/);
    expect(r.stderr).toContain("Run `rampart preflight` to check a configuration; docs/preflight.md lists what production refuses.\n");
  });

  it("an embedded database in use by a live process is refused in one line, and nothing is changed", async () => {
    const dir = tmp();
    // This test's process holds the lock, as a running `rampart serve` would.
    writeFileSync(join(dir, "pgdata.lock"), String(process.pid));
    const r = await runCli(["migrate"], { RAMPART_DATA_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`rampart migrate: the embedded database is in use by process ${process.pid} (${join(dir, "pgdata.lock")}); stop it first\n`);
    expect(readFileSync(join(dir, "pgdata.lock"), "utf8")).toBe(String(process.pid));
  });

  it("with automatic migration off, a command on an unmigrated database names the pending migrations", async () => {
    const empty = await createTestEnv("embedded", { RAMPART_AUTO_MIGRATE: "false" }, { schema: "empty" });
    const r = await runMain(["keys", "status"], empty.env).finally(() => empty.cleanup());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rampart keys: the database has \d+ pending migration\(s\) \(0001-foundation[^)]*\); run `rampart migrate` first\n$/);
  });

  it("an unknown command or option is a usage error (exit 2)", async () => {
    const r = await runMain(["frobnicate"], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    const o = await runMain(["config", "--verbose"], {});
    expect(o.code).toBe(2);
    expect(o.stderr).toContain("unknown option '--verbose'");
  });

  it("serve with PORT=abc exits 1 with one line naming PORT", async () => {
    const r = await runMain(["serve"], { PORT: "abc", RAMPART_DATA_DIR: tmp() });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual(["rampart: invalid configuration: PORT: expected an integer from 0 to 65535, instead got 'abc'"]);
  });

  it("config prints the effective configuration with secrets masked", async () => {
    const r = await runMain(["config"], { DATABASE_URL: "postgres://app:Sup3rSecretPw@db.example:5432/prod", PORT: "9001" });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PORT\s+9001$/m);
    expect(r.stdout).toMatch(/^HOST\s+127\.0\.0\.1\s+\(default\)$/m);
    expect(r.stdout).toMatch(/^DATABASE_URL\s+postgres:\/\/\*\*\*\*@db\.example:5432\/\*\*\*\*$/m);
    expect(r.stdout).not.toContain("Sup3rSecretPw");
    const bad = await runMain(["config"], { DATABASE_URL: "postgres://app:Sup3rSecretPw@db:5432/prod", DATABASE_POOL_MAX: "lots" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("DATABASE_POOL_MAX");
    expect(bad.stderr).not.toContain("Sup3rSecretPw");
  });

  it("migrate applies pending migrations to the embedded database, then reports it up to date", async () => {
    const dir = tmp();
    const status = await runMain(["migrate", "--status"], { RAMPART_DATA_DIR: dir });
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^pending: 0001-foundation/);
    const first = await runMain(["migrate"], { RAMPART_DATA_DIR: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^applied: 0001-foundation/);
    const second = await runMain(["migrate"], { RAMPART_DATA_DIR: dir });
    expect(second.stdout).toBe("database is up to date\n");
  });

  it("secrets list shows names and providers, never values; check exits 1 naming a missing secret", async () => {
    const dir = tmp();
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "stripe-webhook"), "whsec_abcdefghijklmnop\n");
    const env = { RAMPART_SECRETS: `files:${dir},env`, RAMPART_SECRET_METRICS_TOKEN: "metrics-token-value-123" };
    const list = await runMain(["secrets", "list"], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("stripe-webhook");
    expect(list.stdout).toContain("metrics-token");
    expect(list.stdout).not.toContain("whsec_abcdefghijklmnop");
    expect(list.stdout).not.toContain("metrics-token-value-123");
    const ok = await runMain(["secrets", "check", "stripe-webhook", "metrics-token"], env);
    expect(ok.code).toBe(0);
    const missing = await runMain(["secrets", "check", "stripe-webhook", "jwt-signing"], env);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("jwt-signing");
    expect(missing.stdout + missing.stderr).not.toContain("whsec_abcdefghijklmnop");
  });
});
