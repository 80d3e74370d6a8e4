/**
 * The `rampart` CLI with a host app's extensions: RAMPART_EXTENSIONS names a
 * module (test/fixtures/rampart-extensions.mjs) exporting a KEK provider
 * (`fixture-kek`, whose versions are rows of the app's own table), a secrets
 * scheme (`jsonfile:`) and the migration that creates that table. In each
 * storage mode: the app's migration is applied by `migrate`, the app's
 * provider serves `keys`, `users`, `audit` and `serve`, the app's scheme
 * serves `secrets` and the provider's key, and `preflight` runs the
 * provider's own check. A CommonJS module and a package specifier are found and read too; a
 * module that cannot be used stops the command with one line naming
 * RAMPART_EXTENSIONS.
 *
 * `serve`, the package lookup from another directory and, in embedded mode,
 * the key commands run as child processes, as an operator runs them; the
 * other cases run the same command line in this process (runMain), which
 * resolves the module from the same current directory.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { openDatabase } from "../../src/db/index.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { childCoverageEnv, ROOT, runCli, spawnTs } from "../helpers/process.js";
import { runMain } from "./io.js";

/** As an operator sets it: a path relative to the current directory (the repository root here). */
const EXTENSIONS = "./test/fixtures/rampart-extensions.mjs";
const PASSWORD = "correct-horse-battery-staple-9431!";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "rampart-cli-ext-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A `jsonfile:` secrets file holding the provider's root key and one app secret; returns its path and values. */
function secretsFile() {
  const file = join(tmp(), "secrets.json");
  const values = { "fixture-kek-root": randomBytes(32).toString("base64"), "app-api-token": `tok-${randomBytes(12).toString("hex")}` };
  writeFileSync(file, JSON.stringify(values));
  return { file, values };
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** The row of one KEK version in `keys status`: state, subject keys, ciphertexts, and whether it is current. */
function versionRow(stdout: string, version: number) {
  const m = new RegExp(`^fixture-kek/fixture#v${version}( \\*)?\\s+(active|retired)\\s+(\\d+)\\s+(\\d+)\\s`, "m").exec(stdout);
  expect(m, `version ${version} in:\n${stdout}`).not.toBeNull();
  return { current: m![1] !== undefined, state: m![2], subjectKeys: Number(m![3]), ciphertexts: Number(m![4]) };
}

describe("rampart CLI with the app's extensions (RAMPART_EXTENSIONS)", { timeout: 240_000 }, () => {
  describe.each(testModes())("%s", (mode) => {
    let env: TestEnv;
    let app: Record<string, string>;
    let secrets: ReturnType<typeof secretsFile>;
    beforeAll(async () => {
      env = await createTestEnv(mode);
      secrets = secretsFile();
      app = { ...env.env, RAMPART_EXTENSIONS: EXTENSIONS, RAMPART_KMS: "fixture-kek", RAMPART_SECRETS: `jsonfile:${secrets.file},env` };
    });
    afterAll(async () => {
      await env?.cleanup();
    });

    it("migrate applies the app's migration after Rampart's and records it; --status lists it as app:<name> until then", async () => {
      const before = await runMain(["migrate", "--status"], app);
      expect(before.stderr).toBe("");
      expect(before.code).toBe(1);
      expect(before.stdout).toBe("pending: app:0001-fixture-kek-versions\n");
      const run = await runMain(["migrate"], app);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toBe("applied: app:0001-fixture-kek-versions\n");
      const after = await runMain(["migrate", "--status"], app);
      expect(after.code).toBe(0);
      expect(after.stdout).toBe("database is up to date\n");

      const db = await openDatabase(loadConfig(app));
      try {
        const recorded = await sql<{ name: string }>`select name from rampart_app_migrations order by name`.execute(db.kysely);
        expect(recorded.rows.map((r) => r.name)).toEqual(["0001-fixture-kek-versions"]);
        const table = await sql<{ n: number }>`select count(*)::int as n from fixture_kek_versions`.execute(db.kysely);
        expect(table.rows).toEqual([{ n: 0 }]);
      } finally {
        await db.close();
      }
    });

    it("users, keys status / rotate / rewrap / retire and audit verify run on the app's KEK provider, across processes", async () => {
      // Each command a process in one mode shows nothing is carried over in memory (the second process
      // unwraps what the first wrapped); the other mode runs the same commands in this process, each on
      // its own runtime.
      const run = mode === "embedded" ? runCli : (args: string[], env: Record<string, string>, stdin?: string) => runMain(args, env, { stdin });
      const admin = await run(["users", "create-admin", "--email", `admin-${mode}@example.com`], app, `${PASSWORD}\n`);
      expect(admin.stderr).not.toMatch(/"level":"error"/);
      expect(admin.code).toBe(0);

      const first = await run(["keys", "status"], app);
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/^provider: fixture-kek$/m);
      expect(first.stdout).toMatch(/^current: {2}fixture-kek\/fixture#v1$/m);
      const v1 = versionRow(first.stdout, 1);
      // The admin's email is encrypted under a subject key: wrapped by the app's provider.
      expect(v1).toMatchObject({ current: true, state: "active" });
      expect(v1.subjectKeys).toBeGreaterThanOrEqual(1);

      const rotate = await run(["keys", "rotate"], app);
      expect(rotate.code).toBe(0);
      expect(rotate.stdout).toMatch(/^new KEK version fixture-kek\/fixture#v2 is current/);

      // Another process unwraps what the first wrapped: the key comes from the app's scheme, the version from the app's table.
      const rewrap = await run(["keys", "rewrap"], app);
      expect(rewrap.code).toBe(0);
      const moved = /^rewrapped to fixture-kek\/fixture#v2: (\d+) subject key\(s\), (\d+) ciphertext\(s\)\n$/.exec(rewrap.stdout);
      expect(moved, rewrap.stdout).not.toBeNull();
      expect(Number(moved![1])).toBe(v1.subjectKeys);
      expect(Number(moved![2])).toBe(v1.ciphertexts);

      const retire = await run(["keys", "retire", "1"], app);
      expect(retire.code).toBe(0);
      const last = await run(["keys", "status"], app);
      expect(last.stdout).toMatch(/^current: {2}fixture-kek\/fixture#v2$/m);
      expect(versionRow(last.stdout, 1)).toEqual({ current: false, state: "retired", subjectKeys: 0, ciphertexts: 0 });
      expect(versionRow(last.stdout, 2)).toEqual({ current: true, state: "active", subjectKeys: v1.subjectKeys, ciphertexts: v1.ciphertexts });

      const audit = await run(["audit", "verify"], app);
      expect(audit.code).toBe(0);
      expect(audit.stdout).toMatch(/^audit chain OK: /);
    });

    it("secrets list and check resolve through the app's scheme, never printing a value", async () => {
      const provider = `jsonfile:${secrets.file}`;
      const list = await runMain(["secrets", "list"], app);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`^app-api-token\\s+${escape(provider)}\\s`, "m"));
      const check = await runMain(["secrets", "check", "app-api-token", "fixture-kek-root"], app);
      expect(check.code).toBe(0);
      expect(check.stdout).toMatch(new RegExp(`^ok\\s+app-api-token\\s+${escape(provider)}$`, "m"));
      expect(check.stdout).toContain("2 ok, 0 failed");
      const missing = await runMain(["secrets", "check", "app-api-token", "not-in-the-file"], app);
      expect(missing.code).toBe(1);
      expect(missing.stdout).toMatch(/not-in-the-file.*jsonfile:/);
      for (const out of [list, check, missing]) {
        for (const value of Object.values(secrets.values)) expect(out.stdout + out.stderr).not.toContain(value);
      }
    });

    it("serve starts on the app's provider: readiness, KEK check included, answers 200", async () => {
      const server = spawnTs("src/cli/main.ts", ["serve"], app);
      try {
        const url = (await server.waitFor(/"url":"(http:[^"]+)"/, 60_000))[1]!;
        const ready = await fetch(`${url}/health/ready`);
        const body = await ready.text();
        expect(ready.status, body).toBe(200);
      } finally {
        server.child.kill("SIGTERM");
        expect((await server.exit).code).toBe(0);
      }
    });
  });

  describe("preflight", () => {
    it("knows the app's provider and runs its own check, reading the secret through the app's scheme", async () => {
      const { file } = secretsFile();
      const base = { RAMPART_DATA_DIR: tmp(), RAMPART_EXTENSIONS: EXTENSIONS, RAMPART_KMS: "fixture-kek" };
      const unset = await runMain(["preflight"], base);
      expect(unset.code).toBe(1);
      expect(unset.stderr).toContain("secret fixture-kek-root: is not set (RAMPART_KMS=fixture-kek)");
      expect(unset.stderr).not.toContain("unknown KEK provider");
      const set = await runMain(["preflight"], { ...base, RAMPART_SECRETS: `jsonfile:${file},env` });
      // Other production refusals remain (no SMTP, an http public URL); the provider's is gone.
      expect(set.stderr).toMatch(/problem\(s\) production refuses/);
      expect(set.stderr).not.toContain("fixture-kek-root");
      expect(set.stderr).not.toContain("unknown KEK provider");
    });
  });

  describe("refusals", () => {
    const oneLine = (stderr: string) => {
      const lines = stderr.trim().split("\n");
      expect(lines, stderr).toHaveLength(1);
      return lines[0]!;
    };

    it("without RAMPART_EXTENSIONS, the app's provider and scheme are unknown, and the error says how the CLI learns them", async () => {
      const keys = await runMain(["keys", "status"], { RAMPART_DATA_DIR: tmp(), RAMPART_KMS: "fixture-kek" });
      expect(keys.code).toBe(1);
      expect(oneLine(keys.stderr)).toMatch(/^rampart keys: RAMPART_KMS: unknown KEK provider 'fixture-kek'; known: .* \(an app's own is known to the CLI when RAMPART_EXTENSIONS names the module exporting it in kekProviders\)$/);
      const secrets = await runMain(["secrets", "list"], { RAMPART_SECRETS: `jsonfile:${secretsFile().file}` });
      expect(secrets.code).toBe(1);
      expect(oneLine(secrets.stderr)).toMatch(/^rampart: invalid configuration: RAMPART_SECRETS: .*unknown scheme 'jsonfile' \(an app's own .* in secretsProviders\)$/);
    });

    it("a path that names no module stops the command with one line naming RAMPART_EXTENSIONS and where it looked", async () => {
      const r = await runMain(["migrate", "--status"], { RAMPART_DATA_DIR: tmp(), RAMPART_EXTENSIONS: "./dist/no-such-extensions.js" });
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toBe(
        `rampart: invalid configuration: RAMPART_EXTENSIONS: expected a module to import (a path from the current directory, or a package), instead got './dist/no-such-extensions.js': no such module (${join(ROOT, "dist", "no-such-extensions.js")})`,
      );
      expect(r.stdout).toBe("");
    });

    it("a module with an export the CLI does not know is refused, naming the export, before anything opens", async () => {
      for (const args of [["migrate"], ["keys", "status"]]) {
        const dataDir = tmp();
        const r = await runMain(args, { RAMPART_DATA_DIR: dataDir, RAMPART_EXTENSIONS: "./test/fixtures/rampart-extensions-unknown-export.mjs" });
        expect(r.code, args.join(" ")).toBe(1);
        expect(oneLine(r.stderr)).toBe(
          "rampart: invalid configuration: RAMPART_EXTENSIONS: expected a module exporting only kekProviders, secretsProviders, migrations, instead got './test/fixtures/rampart-extensions-unknown-export.mjs', which exports 'kekProvider'",
        );
        // The embedded database was never opened (it would have created its cluster here).
        expect(readdirSync(dataDir)).toEqual([]);
      }
    });

    it("an export that cannot be registered is refused with the registry's reason", async () => {
      const r = await runMain(["keys", "status"], { RAMPART_DATA_DIR: tmp(), RAMPART_EXTENSIONS: "./test/fixtures/rampart-extensions-bad-value.mjs" });
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toBe(
        "rampart: invalid configuration: RAMPART_EXTENSIONS: expected kekProviders that can be registered, instead got './test/fixtures/rampart-extensions-bad-value.mjs': KEK provider 'local' is already registered",
      );
    });
  });

  it("a CommonJS module (values on its default export too) is read the same way", async () => {
    const r = await runMain(["secrets", "check", "api-token"], {
      RAMPART_EXTENSIONS: "./test/fixtures/rampart-extensions.cjs",
      RAMPART_SECRETS: "cjs-env:APP_SECRET_",
      APP_SECRET_API_TOKEN: "cjs-token-value-987",
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok\s+api-token\s+cjs-env:APP_SECRET_$/m);
    expect(r.stdout).not.toContain("cjs-token-value-987");
  });

  it("a package specifier is found from the current directory, as the app's own code finds it", async () => {
    const cwd = tmp();
    const pkg = join(cwd, "node_modules", "acme-rampart-extensions");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "acme-rampart-extensions", type: "module", exports: "./index.js" }));
    writeFileSync(join(pkg, "index.js"), `export * from ${JSON.stringify(pathToFileURL(join(ROOT, EXTENSIONS)).href)};\n`);
    const { file } = secretsFile();
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const child = spawn(process.execPath, ["--import", tsx, join(ROOT, "src/cli/main.ts"), "secrets", "check", "app-api-token"], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...childCoverageEnv(), RAMPART_EXTENSIONS: "acme-rampart-extensions", RAMPART_SECRETS: `jsonfile:${file}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^ok\\s+app-api-token\\s+${escape(`jsonfile:${file}`)}$`, "m"));
  });
});
