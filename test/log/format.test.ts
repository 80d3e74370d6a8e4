/**
 * LOG_FORMAT: `pretty` prints readable lines through pino-pretty (an optional
 * peer), still redacted; `auto` is pretty only on a development terminal;
 * without pino-pretty, `pretty` stops the server naming the package, and
 * `auto` falls back to JSON. The cases without the package are `rampart
 * serve` child processes in which test/loadtest/fixtures/without-package.mjs
 * hides (or breaks) it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createLogger, resolveLogFormat, SecretRedactor } from "../../src/log/index.js";
import { LogCapture } from "../helpers/logs.js";
import { childCoverageEnv, ROOT, runCli } from "../helpers/process.js";

describe("LOG_FORMAT=pretty", () => {
  it("prints a readable line with the message and fields, with registered secrets masked", () => {
    const redactor = new SecretRedactor();
    redactor.register("pretty-secret-value-8841");
    const out = new LogCapture();
    const log = createLogger({ level: "info", format: "pretty", redactor, destination: out });
    log.info({ user: "u_1", token: "pretty-secret-value-8841" }, "signed in with pretty-secret-value-8841");
    log.debug("below the level");
    expect(out.lines.length).toBeGreaterThan(0);
    expect(out.text).toMatch(/INFO.*signed in with/);
    expect(out.text).toContain("u_1");
    expect(out.text).not.toContain("pretty-secret-value-8841");
    expect(out.text).not.toContain("below the level");
    // Not JSON: the point of the format.
    expect(() => JSON.parse(out.lines[0]!)).toThrow();
  });
});

describe("resolveLogFormat", () => {
  const tty = process.stdout.isTTY;
  afterEach(() => {
    process.stdout.isTTY = tty;
  });

  it("keeps an explicit format", () => {
    expect(resolveLogFormat("json", "development")).toBe("json");
    expect(resolveLogFormat("pretty", "production")).toBe("pretty");
  });

  it("auto: pretty on a development terminal (pino-pretty is installed here), JSON otherwise", () => {
    process.stdout.isTTY = true;
    expect(resolveLogFormat("auto", "development")).toBe("pretty");
    expect(resolveLogFormat("auto", "production")).toBe("json");
    process.stdout.isTTY = false;
    expect(resolveLogFormat("auto", "development")).toBe("json");
  });
});

describe("without pino-pretty", { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function env(extra: Record<string, string>): Record<string, string> {
    const dir = mkdtempSync(join(tmpdir(), "rampart-log-format-"));
    dirs.push(dir);
    const preload = `--import ${ROOT}/test/loadtest/fixtures/without-package.mjs`;
    return { RAMPART_DATA_DIR: dir, NODE_OPTIONS: [childCoverageEnv().NODE_OPTIONS, preload].filter(Boolean).join(" "), RAMPART_TEST_WITHOUT_PACKAGE: "pino-pretty", ...extra };
  }

  it("LOG_FORMAT=pretty stops serve with one line naming the package to install", async () => {
    const r = await runCli(["serve"], env({ LOG_FORMAT: "pretty" }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("rampart serve: LOG_FORMAT=pretty needs the optional package 'pino-pretty': npm install pino-pretty\n");
  });

  it("a pino-pretty that fails to load for another reason stops serve with that reason", async () => {
    const r = await runCli(["serve"], env({ LOG_FORMAT: "pretty", RAMPART_TEST_PACKAGE_FAILURE: "broken" }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("rampart serve: pino-pretty is broken: unexpected token in its entry point\n");
  });
});
