/** `rampart loadtest` usage: bad values are usage errors (exit 2) naming the option and what it received. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ceilingWarning, type Calibration } from "../../src/loadtest/calibrate.js";
import { runMain } from "../cli/io.js";
import { loadtest } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "rampart-loadtest-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const URL_ = "http://127.0.0.1:9";

describe("rampart loadtest usage", { timeout: 120_000 }, () => {
  it("the CLI exits 2 with one clear line and the usage for a bad scenario, budget or URL", async () => {
    const cases: [string[], string][] = [
      [["--url", URL_, "--scenario", "burst"], "rampart loadtest: --scenario takes one of baseline, stress, spike, soak, ramp, instead got 'burst'"],
      [["--url", URL_, "--scenario", "baseline", "--budget", "login<500"], "rampart loadtest: --budget takes ENDPOINT=MS (e.g. login=500), instead got 'login<500'"],
      [["--url", "ftp://example.com", "--scenario", "baseline"], "rampart loadtest: --url must be http or https, instead got 'ftp:'"],
    ];
    for (const [args, line] of cases) {
      const r = await runMain(["loadtest", ...args], {});
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")[0]).toBe(line);
      expect(r.stderr).toContain("Usage: rampart loadtest --url URL --scenario");
    }
    const top = await runMain(["--help"], {});
    expect(top.stdout).toMatch(/^ {2}loadtest +Load-test a server/m);
  });

  it("names the option and the value for every other bad input", async () => {
    const cases: [string[], string][] = [
      [["--scenario", "baseline"], "--url is required"],
      [["--url", URL_], "--scenario is required"],
      [["--url", "not a url", "--scenario", "baseline"], "--url takes an absolute http(s) URL like http://127.0.0.1:8080, instead got 'not a url'"],
      [["--url", "http://user:pw@127.0.0.1:8080", "--scenario", "baseline"], "--url must not carry credentials"],
      [["--url", `${URL_}/?x=1`, "--scenario", "baseline"], "--url is the server's base URL, without a query or fragment"],
      [["--url", URL_, "--scenario", "baseline", "--budget", "search=500"], "--budget names an endpoint of register, login, me, me-apikey, refresh, logout, instead got 'search'"],
      [["--url", URL_, "--scenario", "baseline", "--budget", "login=fast"], "--budget takes a P95 in milliseconds (login=500, login=0.5s) or none, instead got 'login=fast'"],
      [["--url", URL_, "--scenario", "baseline", "--rate", "0"], "--rate takes a positive number up to 100000, instead got '0'"],
      [["--url", URL_, "--scenario", "baseline", "--duration", "soon"], "--duration takes a duration like 500ms, 60s, 30m or 1h, instead got 'soon'"],
      [["--url", URL_, "--scenario", "baseline", "--error-rate", "150"], "--error-rate takes a percentage from 0 to 100, instead got '150'"],
      [["--url", URL_, "--scenario", "baseline", "--max-in-flight", "2.5"], "--max-in-flight takes a positive integer up to 100000, instead got '2.5'"],
      [["--url", URL_, "--scenario", "baseline", "--report", join(dir, "missing", "r.html")], `--report: the directory ${join(dir, "missing")} does not exist`],
      [["--url", URL_, "--scenario", "baseline", "--verbose"], "Unknown option '--verbose'"],
      [["--calibrate", "--rate", "5"], "--calibrate takes no other option than --json, instead got --rate"],
    ];
    for (const [args, message] of cases) {
      const r = await loadtest(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });

  it("a target that cannot be reached fails the set-up (exit 1) naming the URL and the socket error", async () => {
    const r = await loadtest(["--url", URL_, "--scenario", "baseline", "--no-calibrate", "--duration", "1s"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`rampart loadtest: set-up: cannot reach ${URL_}/: ECONNREFUSED`);
  });

  it("warns when the offered request rate reaches half the generator's ceiling", () => {
    expect(ceilingWarning(400, 1000)).toBeUndefined();
    expect(ceilingWarning(600, 1000)).toBe(
      "the offered peak (about 600 requests/s) is 60% of this generator's ceiling (1000 requests/s): latencies include the generator's own queueing; lower --rate or split the load over several hosts",
    );
    expect(ceilingWarning(10, 0)).toContain("did not hold even the lowest calibration rate");
  });

  it("--calibrate measures the generator's ceiling and writes it as JSON", async () => {
    const json = join(dir, "calibration.json");
    const r = await loadtest(["--calibrate", "--json", json]);
    expect(r.code).toBe(0);
    const c = JSON.parse(readFileSync(json, "utf8")) as Calibration;
    expect(r.stdout).toContain(`ceiling: ${c.ceiling} requests/s`);
    // Doubling from 500 until a rate does not hold, then up to three bisections.
    expect(c.steps[0]!.rate).toBe(500);
    const held = c.steps.filter((s) => s.held).map((s) => s.rate);
    expect(c.ceiling).toBe(held.length ? Math.max(...held) : 0);
    for (const s of c.steps) expect(s.scheduled).toBe((s.rate * c.stepMs) / 1000);
  });
});
