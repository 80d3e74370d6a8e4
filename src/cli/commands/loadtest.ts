/** `rampart loadtest`: user journeys against a server at a scheduled rate, with budgets and reports (docs/loadtest.md). */
import { existsSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  assertLoadtestPackages,
  calibrate,
  DEFAULT_ERROR_RATE_PCT,
  formatCalibration,
  formatResult,
  liveLine,
  LoadTestOptionError,
  LoadTestSetupError,
  parseBudgets,
  parseDuration,
  parsePercent,
  parsePositive,
  parseScenario,
  parseTargetUrl,
  renderHtmlReport,
  runLoadTest,
  scenarios,
  type LoadTestOptions,
} from "../../loadtest/index.js";
import { UsageError, type Command, type CommandIo } from "../command.js";

const OPTIONS = {
  url: { type: "string" },
  scenario: { type: "string" },
  duration: { type: "string" },
  rate: { type: "string" },
  budget: { type: "string", multiple: true },
  "error-rate": { type: "string" },
  report: { type: "string" },
  json: { type: "string" },
  "max-in-flight": { type: "string" },
  accounts: { type: "string" },
  "api-keys": { type: "string" },
  "setup-rate": { type: "string" },
  "setup-timeout": { type: "string" },
  timeout: { type: "string" },
  "email-domain": { type: "string" },
  calibrate: { type: "boolean" },
  "no-calibrate": { type: "boolean" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>["values"];

/** An output file's directory must exist before a run of minutes ends in a failed write. */
function outputPath(option: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const path = resolve(raw);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${option}: the directory ${dir} does not exist`);
  return path;
}

function optionsFrom(v: Values): Omit<LoadTestOptions, "signal" | "cleanupSignal" | "onEvent"> {
  if (v.url === undefined) throw new UsageError("--url is required (the server's base URL, e.g. http://127.0.0.1:8080)");
  if (v.scenario === undefined) throw new UsageError("--scenario is required (baseline, stress, spike, soak or ramp)");
  const scenario = parseScenario(v.scenario);
  const count = (option: string, raw: string | undefined) => (raw === undefined ? undefined : parsePositive(option, raw, { integer: true, max: 100_000 }));
  const accounts = count("--accounts", v.accounts);
  // Every scenario has api-key journeys: each needs a key.
  const apiKeys = count("--api-keys", v["api-keys"]);
  return {
    url: parseTargetUrl(v.url),
    scenario,
    rate: v.rate === undefined ? 50 : parsePositive("--rate", v.rate, { max: 100_000 }),
    durationMs: v.duration === undefined ? scenarios[scenario].defaultDurationMs : parseDuration("--duration", v.duration),
    budgets: { p95Ms: parseBudgets(v.budget ?? []), errorRatePct: v["error-rate"] === undefined ? DEFAULT_ERROR_RATE_PCT : parsePercent("--error-rate", v["error-rate"]) },
    maxInFlight: count("--max-in-flight", v["max-in-flight"]) ?? 1000,
    ...(accounts !== undefined ? { accounts } : {}),
    ...(apiKeys !== undefined ? { apiKeys } : {}),
    setupRate: v["setup-rate"] === undefined ? 20 : parsePositive("--setup-rate", v["setup-rate"], { max: 1000 }),
    setupTimeoutMs: v["setup-timeout"] === undefined ? 120_000 : parseDuration("--setup-timeout", v["setup-timeout"]),
    timeoutMs: v.timeout === undefined ? 10_000 : parseDuration("--timeout", v.timeout),
    emailDomain: v["email-domain"] ?? "example.com",
    calibrate: !v["no-calibrate"],
  };
}

/** SIGINT ends the measured phase (the clean-up still runs); a second one ends the clean-up. */
function interrupts(io: CommandIo): { signal: AbortSignal; cleanupSignal: AbortSignal; dispose: () => void } {
  const run = new AbortController();
  const cleanup = new AbortController();
  const onSigint = () => {
    if (!run.signal.aborted) {
      io.stderr.write("\ninterrupted: stopping the schedule, then removing the test accounts (Ctrl-C again to skip the clean-up)\n");
      run.abort();
    } else cleanup.abort();
  };
  process.on("SIGINT", onSigint);
  return { signal: run.signal, cleanupSignal: cleanup.signal, dispose: () => process.off("SIGINT", onSigint) };
}

export const loadtestCommand: Command = {
  name: "loadtest",
  usage: `Usage: rampart loadtest --url URL --scenario baseline|stress|spike|soak|ramp [options]
       rampart loadtest --calibrate [--json FILE]

Runs user journeys (register, login, /v1/me, refresh, logout; API-key calls;
wrong passwords) against the server at URL in an open model: journeys start at
the scenario's rate whether or not earlier ones finished, and latency runs
from the scheduled start. Test accounts are made through the API before the
measured phase and erased after it. Exits 1 naming every budget missed, 2 on
a usage error. docs/loadtest.md has the scenarios, their mixes, and how to
size the target's rate limits for a load test.

  --rate N              peak journey starts per second (default 50)
  --duration D          length of the measured phase, e.g. 90s, 5m
                        (default 60s; stress 2m; soak 30m)
  --budget EP=MS        P95 budget of an endpoint, repeatable; EP one of
                        register, login, me, me-apikey, refresh, logout;
                        MS a number of ms or none (defaults: login=500
                        refresh=300 me=500 me-apikey=500 logout=300)
  --error-rate PCT      highest error rate of any endpoint (default 1)
  --report FILE         write the HTML report (charts inlined; opens offline)
  --json FILE           write the result as JSON
  --max-in-flight N     journeys running at once before arrivals are
                        dropped (default 1000)
  --accounts N          test accounts for the login journeys (default: sized
                        from the rate); --api-keys N of them get an API key
  --setup-rate N        accounts made or removed per second (default 20)
  --setup-timeout D     how long set-up and clean-up wait out 429s (120s)
  --timeout D           deadline of one request (default 10s)
  --email-domain D      domain of the test accounts (default example.com)
  --no-calibrate        skip the short calibration of the generator
  --calibrate           only measure the generator's ceiling and print it`,
  async run(io) {
    let values: Values;
    try {
      values = parseArgs({ args: io.argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    // Its packages are optional peers: a missing one is named before anything runs.
    assertLoadtestPackages();
    const json = outputPath("--json", values.json);
    if (values.calibrate) {
      const others = Object.keys(values).filter((k) => k !== "calibrate" && k !== "json");
      if (others.length > 0) throw new UsageError(`--calibrate takes no other option than --json, instead got --${others[0]}`);
      io.stderr.write("calibrating: the load generator against a bare node:http hello-world on loopback\n");
      const c = await calibrate();
      io.stdout.write(formatCalibration(c));
      if (json) writeFileSync(json, `${JSON.stringify(c, null, 2)}\n`);
      return 0;
    }
    let options: ReturnType<typeof optionsFrom>;
    try {
      options = optionsFrom(values);
    } catch (err) {
      throw err instanceof LoadTestOptionError ? new UsageError(err.message) : err;
    }
    const report = outputPath("--report", values.report);
    const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
    const { signal, cleanupSignal, dispose } = interrupts(io);
    let live = false;
    try {
      const result = await runLoadTest({
        ...options,
        signal,
        cleanupSignal,
        onEvent: (e) => {
          if (e.type === "tick") {
            if (tty) {
              io.stderr.write(`\r\x1b[K${liveLine(e.tick)}`);
              live = true;
            }
            return;
          }
          if (live) io.stderr.write("\n");
          live = false;
          io.stderr.write(`${e.type === "notice" ? "note: " : ""}${e.message}\n`);
        },
      });
      if (live) io.stderr.write("\n");
      io.stdout.write(formatResult(result));
      if (json) writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
      if (report) writeFileSync(report, renderHtmlReport(result));
      return result.passed ? 0 : 1;
    } catch (err) {
      if (err instanceof LoadTestSetupError) {
        io.stderr.write(`rampart loadtest: ${err.message}\n`);
        return 1;
      }
      throw err;
    } finally {
      dispose();
    }
  },
};
