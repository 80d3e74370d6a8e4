/**
 * Budgets decide the exit code and name what they missed: a real Rampart
 * server behind a proxy that makes one route slow or failing, and the same
 * server with its real rate limiter sized too small for the run, whose 429s
 * are reported apart from other errors with a pointer to the sizing advice.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { LoadTestResult } from "../../src/loadtest/run.js";
import { runCli } from "../helpers/process.js";
import { faultProxy, leftovers, loadtest, quickRun, startRampart } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "rampart-loadtest-budgets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const read = (file: string) => JSON.parse(readFileSync(file, "utf8")) as LoadTestResult;

describe("load-test budgets against a real server", { timeout: 240_000 }, () => {
  it("a P95 over its budget exits 1 naming the endpoint (the CLI process, refresh slowed by 400 ms)", async () => {
    const { t, url } = await startRampart("embedded");
    const proxy = await faultProxy(url, [{ method: "POST", path: "/v1/auth/refresh", delayMs: 400 }]);
    try {
      const json = join(dir, "slow.json");
      const r = await runCli(["loadtest", ...quickRun(proxy.url, ["--accounts", "12", "--api-keys", "3", "--budget", "refresh=300", "--json", json])], {});
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toMatch(/^FAILED:$/m);
      expect(r.stdout).toMatch(/^ {2}refresh: P95 \d+(\.\d)? ms over the budget of 300 ms$/m);
      const result = read(json);
      expect(result.passed).toBe(false);
      expect(result.endpoints.refresh!.latencyMs.p95).toBeGreaterThanOrEqual(400);
      // Only the slowed endpoint missed its budget.
      expect(result.budgets.checks.filter((c) => !c.ok).map((c) => `${c.subject} ${c.metric}`)).toEqual(["refresh p95"]);
      expect(proxy.hits.get("POST /v1/auth/refresh")).toBe(result.endpoints.refresh!.requests);
      expect(await leftovers(t)).toEqual({ users: 0, apiKeys: 0, sessions: 0 });
    } finally {
      await proxy.close();
      await t.close();
    }
  });

  it("an error rate over the budget exits 1 naming the endpoint (every second logout answered 500)", async () => {
    const { t, url } = await startRampart("embedded");
    const proxy = await faultProxy(url, [{ method: "POST", path: "/v1/auth/logout", failEvery: 2 }]);
    try {
      const json = join(dir, "errors.json");
      const r = await loadtest(quickRun(proxy.url, ["--accounts", "12", "--api-keys", "3", "--json", json]));
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^ {2}logout: error rate \d+(\.\d+)?% \(\d+ of \d+\) over the budget of 1%$/m);
      const result = read(json);
      const logout = result.endpoints.logout!;
      // Of the logouts that reached the proxy (set-up's among them), every second one failed.
      expect(logout.errors).toBeGreaterThan(0);
      expect(logout.errorKinds).toEqual([{ kind: "500 INTERNAL_ERROR", count: logout.errors, example: "injected by the test proxy" }]);
      expect(result.budgets.checks.filter((c) => !c.ok).map((c) => `${c.subject} ${c.metric}`)).toEqual(["logout error-rate"]);
    } finally {
      await proxy.close();
      await t.close();
    }
  });

  it("429s from the server's own rate limiter are errors, counted apart and pointing at the sizing advice", async () => {
    // 8 requests a minute per client: the anonymous refreshes of one IP exceed it; each account's own calls do not.
    const { t, url } = await startRampart("embedded", { RATE_LIMIT_REQUESTS_PER_MINUTE: "8" });
    try {
      const json = join(dir, "throttled.json");
      const r = await loadtest(quickRun(url, ["--rate", "6", "--duration", "4s", "--accounts", "40", "--api-keys", "8", "--json", json]));
      expect(r.code).toBe(1);
      const result = read(json);
      const refresh = result.endpoints.refresh!;
      expect(refresh.throttled.RATE_LIMITED).toBeGreaterThan(0);
      expect(refresh.errorKinds.find((k) => k.kind === "429 RATE_LIMITED")?.count).toBe(refresh.throttled.RATE_LIMITED);
      expect(r.stdout).toMatch(new RegExp(`^ {2}refresh: error rate .* over the budget of 1% \\(${refresh.throttled.RATE_LIMITED}× 429 RATE_LIMITED: size the target's rate limits for a load test: docs/loadtest\\.md#rate-limits\\)$`, "m"));
      // The table's 429 column.
      expect(r.stdout).toMatch(new RegExp(`^refresh +${refresh.requests} +${refresh.ok} +0 +${refresh.errors} +${refresh.throttled.RATE_LIMITED} `, "m"));
      // The clean-up still removed everything (each account's own calls stayed within its limit).
      expect(result.cleanup.leftover).toEqual([]);
      expect(await leftovers(t)).toEqual({ users: 0, apiKeys: 0, sessions: 0 });
    } finally {
      await t.close();
    }
  });
});
