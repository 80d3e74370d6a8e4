/**
 * The load test's optional packages (hdr-histogram-js, uplot): a deployment
 * without one is told which to install before anything runs; one that is
 * installed but fails to load fails with its own error, not a misleading
 * "install it". Each case is a `rampart loadtest` child process in which
 * test/loadtest/fixtures/without-package.mjs hides or breaks one package.
 */
import { describe, expect, it } from "vitest";
import { childCoverageEnv, ROOT, runCli } from "../helpers/process.js";

const PRELOAD = `${ROOT}/test/loadtest/fixtures/without-package.mjs`;
// No server listens on port 1: the command must stop before it tries one.
const ARGS = ["loadtest", "--url", "http://127.0.0.1:1", "--scenario", "baseline", "--no-calibrate", "--duration", "1s"];

function without(pkg: string, failure?: "broken"): Record<string, string> {
  const coverage = childCoverageEnv().NODE_OPTIONS;
  return {
    NODE_OPTIONS: [coverage, `--import ${PRELOAD}`].filter(Boolean).join(" "),
    RAMPART_TEST_WITHOUT_PACKAGE: pkg,
    ...(failure ? { RAMPART_TEST_PACKAGE_FAILURE: failure } : {}),
  };
}

describe("rampart loadtest without its optional packages", { timeout: 120_000 }, () => {
  it.each(["hdr-histogram-js", "uplot"])("names %s and how to install it, before any request", async (pkg) => {
    const r = await runCli(ARGS, without(pkg));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`rampart loadtest: rampart loadtest needs the optional package '${pkg}': npm install ${pkg}\n`);
    expect(r.stdout).toBe("");
  });

  it.each(["hdr-histogram-js", "uplot"])("a %s that fails to load for another reason fails with that reason", async (pkg) => {
    const r = await runCli(ARGS, without(pkg, "broken"));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`rampart loadtest: ${pkg} is broken: unexpected token in its entry point\n`);
    expect(r.stderr).not.toContain("npm install");
  });
});
