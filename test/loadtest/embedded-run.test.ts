/**
 * A short real run against a Rampart server (rate limits on, sized high):
 * every journey completes, every endpoint is measured with the request
 * counts the journeys and the mix imply, and the test data made through the
 * API is erased through it afterwards.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { JOURNEYS, MixPicker, scenarios, type JourneyName } from "../../src/loadtest/scenarios.js";
import type { LoadTestResult } from "../../src/loadtest/run.js";
import { testModes } from "../helpers/modes.js";
import { spawnTs } from "../helpers/process.js";
import { accountRows, faultProxy, leftovers, loadtest, quickRun, startRampart } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "rampart-loadtest-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(testModes())("rampart loadtest against a real server (%s)", (mode) => {
  it("completes every journey, measures each endpoint, and removes its test data", { timeout: 240_000 }, async () => {
    const { t, url } = await startRampart(mode);
    try {
      const json = join(dir, `${mode}.json`);
      const html = join(dir, `${mode}.html`);
      const r = await loadtest(quickRun(url, ["--accounts", "12", "--api-keys", "3", "--json", json, "--report", html]), { tty: true });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain("PASSED: every budget held");
      // On a terminal, a live line redrawn in place each second while the schedule runs.
      const live = r.stderr.split("\r\x1b[K").slice(1);
      expect(live.length).toBeGreaterThanOrEqual(2);
      expect(live[0]).toMatch(/^\d+s\/3s {2}\d+\/s {2}in flight \d+ {2}p95 ms: .* {2}errors 0 \(0\.00%\) {2}429 0 {2}dropped 0/);
      const result = JSON.parse(readFileSync(json, "utf8")) as LoadTestResult;

      // 5 journeys/s for 3 s, split by the baseline mix.
      const picker = new MixPicker(scenarios.baseline.mix);
      const n = Object.fromEntries(JOURNEYS.map((j) => [j, 0])) as Record<JourneyName, number>;
      for (let i = 0; i < 15; i++) n[picker.next()]++;
      expect(result.arrivals).toMatchObject({ expected: 15, scheduled: 15, started: 15, dropped: {}, interrupted: false });
      for (const j of JOURNEYS) expect(result.journeys[j], j).toEqual({ started: n[j], completed: n[j], failed: 0 });

      const requests = (e: string) => result.endpoints[e]!.requests;
      expect(requests("register")).toBe(n["new-user"]);
      expect(requests("login")).toBe(n["new-user"] + n["returning-user"] + 2 * n["wrong-password"]);
      expect(requests("me")).toBe(3 * n["new-user"] + 4 * n["returning-user"] + 2 * n["wrong-password"]);
      expect(requests("me-apikey")).toBe(3 * n["api-key"]);
      expect(requests("refresh")).toBe(n["new-user"] + n["returning-user"]);
      expect(requests("logout")).toBe(n["new-user"] + n["returning-user"] + n["wrong-password"]);
      // The mistyped passwords are the expected 401s, not errors.
      expect(result.endpoints.login!.expected).toBe(n["wrong-password"]);
      expect(result.endpoints.login!.statuses["401"]).toBe(n["wrong-password"]);
      for (const [name, s] of Object.entries(result.endpoints)) {
        expect(s.errors, name).toBe(0);
        // Measured from the scheduled start, never less than the request alone.
        expect(s.latencyMs.max, name).toBeGreaterThanOrEqual(s.serviceMs.max);
      }
      expect(result.timeline.reduce((a, s) => a + s.completed, 0)).toBe(Object.values(result.endpoints).reduce((a, s) => a + s.requests, 0));

      // The pool and every account a new-user journey registered, erased through the API.
      expect(result.setup).toMatchObject({ accounts: 12, apiKeys: 3, throttled: 0, retired: 0 });
      expect(result.cleanup).toMatchObject({ removed: 12 + n["new-user"], absent: 0, leftover: [] });
      expect(await accountRows(t)).toBe(12 + n["new-user"]);
      expect(await leftovers(t)).toEqual({ users: 0, apiKeys: 0, sessions: 0 });
      expect(readFileSync(html, "utf8")).toContain("<!doctype html>");
    } finally {
      await t.close();
    }
  });
});

describe("rampart loadtest interrupted", () => {
  it("Ctrl-C stops the schedule, still removes the test data, and fails as interrupted", { timeout: 240_000 }, async () => {
    const { t, url } = await startRampart("embedded");
    try {
      const json = join(dir, "interrupted.json");
      const p = spawnTs("src/cli/main.ts", ["loadtest", ...quickRun(url, ["--duration", "120s", "--accounts", "12", "--api-keys", "3", "--json", json])], {});
      // Once the measured phase has run for a while: its phase line is on stderr, then journeys complete.
      const deadline = Date.now() + 120_000;
      while (!/^baseline: /m.test(p.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 2000));
      p.child.kill("SIGINT");
      const { code } = await p.exit;
      expect(code, p.stderr()).toBe(1);
      expect(p.stderr()).toContain("interrupted: stopping the schedule, then removing the test accounts");
      expect(p.stdout()).toMatch(/^ {2}run: interrupted before the end of the schedule \(\d+ of 600 arrivals\)$/m);
      const result = JSON.parse(readFileSync(json, "utf8")) as LoadTestResult;
      expect(result.arrivals.interrupted).toBe(true);
      expect(result.arrivals.scheduled).toBeLessThan(600);
      expect(result.arrivals.started).toBe(result.arrivals.scheduled);
      expect(result.cleanup.leftover).toEqual([]);
      expect(await leftovers(t)).toEqual({ users: 0, apiKeys: 0, sessions: 0 });
    } finally {
      await t.close();
    }
  });
});

describe("rampart loadtest against a server that stops answering logins", () => {
  it("takes an account whose login got no answer out of the pool, so the lockout never locks it", { timeout: 240_000 }, async () => {
    const { t, url } = await startRampart("embedded");
    // Every login answer held 3 s: past the run's 1 s deadline; the server has done the login meanwhile.
    const proxy = await faultProxy(url, [{ method: "POST", path: "/v1/auth/login", delayMs: 3000 }]);
    try {
      const json = join(dir, "unanswered.json");
      // Four accounts for about ten login journeys: each account serves one, then is retired.
      const r = await loadtest(quickRun(proxy.url, ["--timeout", "1s", "--accounts", "4", "--api-keys", "1", "--json", json]));
      expect(r.code).toBe(1);
      const result = JSON.parse(readFileSync(json, "utf8")) as LoadTestResult;
      const pooled = result.journeys["returning-user"].started + result.journeys["wrong-password"].started;
      // Each login journey's first login timed out, and its account was retired rather than reused.
      expect(pooled).toBe(4);
      expect(result.setup.retired).toBe(4);
      expect(result.arrivals.dropped["accounts-busy"]).toBeGreaterThan(0);
      expect(r.stdout).toContain("(4 accounts were retired after logins that got no answer: the target is overloaded at this rate)");
      expect(result.endpoints.login!.errorKinds.find((k) => k.kind === "timeout")?.count).toBe(pooled + result.journeys["new-user"].started);
      expect(result.warnings).toContain(`${pooled} test accounts were taken out of the pool after a login got no answer or found the account locked (the server may still have been working on it)`);
      // No account was locked: every one logged in again at the clean-up and erased itself.
      expect(result.endpoints.login!.statuses["423"]).toBeUndefined();
      expect(result.cleanup).toMatchObject({ absent: 0, leftover: [] });
      expect(await leftovers(t)).toEqual({ users: 0, apiKeys: 0, sessions: 0 });
    } finally {
      await proxy.close();
      await t.close();
    }
  });
});
