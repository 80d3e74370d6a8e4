/**
 * The Prometheus alert rules (deploy/prometheus): promtool (Debian's
 * `prometheus` package; CI installs it, and a missing promtool fails here)
 * checks the rules and the compose Prometheus configuration and runs the unit
 * tests in alerts.test.yml. Around it: every alert has a test that expects it
 * to fire and one that expects silence, every metric a rule reads is one a
 * Rampart app exports, and every runbook link leads to a section of
 * docs/operations.md.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { ROOT } from "../helpers/process.js";

const DIR = join(ROOT, "deploy/prometheus");
const rules = parse(readFileSync(join(DIR, "alerts.yml"), "utf8")) as { groups: { rules: { alert: string; expr: string; annotations: Record<string, string> }[] }[] };
const alerts = rules.groups.flatMap((g) => g.rules);
const unitTests = parse(readFileSync(join(DIR, "alerts.test.yml"), "utf8")) as { rule_files: string[]; tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };

function promtool(args: string[], cwd = DIR): { code: number | null; out: string } {
  const r = spawnSync("promtool", args, { cwd, encoding: "utf8" });
  if (r.error) throw new Error(`promtool is required (Debian package 'prometheus'): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("alert rules", () => {
  it("promtool check rules accepts every rule", () => {
    const r = promtool(["check", "rules", "alerts.yml"]);
    expect(r.out).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(r.code).toBe(0);
  });

  it("promtool test rules: every unit test passes", () => {
    expect(unitTests.rule_files).toEqual(["alerts.yml"]);
    const r = promtool(["test", "rules", "alerts.test.yml"]);
    expect(r.out).toContain("SUCCESS");
    expect(r.code).toBe(0);
  });

  it("every alert has a case where it fires and a case where it stays silent", () => {
    const cases = unitTests.tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${alert} fires`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${alert} stays silent`).toBe(true);
    }
    for (const c of cases) expect(alerts.map((a) => a.alert), c.alertname).toContain(c.alertname);
  });

  it("promtool check config accepts the compose Prometheus configuration", () => {
    const dir = mkdtempSync(join(tmpdir(), "rampart-prom-"));
    try {
      // The rule and token paths exist inside the container only.
      writeFileSync(join(dir, "metrics-token"), "token\n");
      const config = readFileSync(join(DIR, "prometheus.yml"), "utf8")
        .replace("/etc/prometheus/alerts.yml", join(DIR, "alerts.yml"))
        .replace("/run/secrets/metrics-token", join(dir, "metrics-token"));
      writeFileSync(join(dir, "prometheus.yml"), config);
      const r = promtool(["check", "config", join(dir, "prometheus.yml")], dir);
      expect(r.out).toContain(`SUCCESS: ${alerts.length} rules found`);
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("every runbook link names a section of docs/operations.md", () => {
    // GitHub's heading anchors: lower-case, punctuation dropped, spaces to dashes.
    const anchors = new Set(
      readFileSync(join(ROOT, "docs/operations.md"), "utf8")
        .split("\n")
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => l.replace(/^#+ /, "").trim().toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-")),
    );
    for (const a of alerts) {
      const [file, anchor] = a.annotations.runbook!.split("#");
      expect(file, a.alert).toBe("docs/operations.md");
      expect(anchors.has(anchor!), `${a.alert}: #${anchor}`).toBe(true);
    }
  });
});

describe("metrics the rules read", () => {
  let t: TestApp;
  const token = "alerts-test-metrics-token-0123456789";
  beforeAll(async () => {
    // Rate limiting on (tests default it off): its store series are among the ones the rules read.
    t = await createTestApp("embedded", { env: { RAMPART_SECRET_METRICS_TOKEN: token, RATE_LIMIT_ENABLED: "true" } });
  });
  afterAll(async () => t.close());

  it("are exported by a Rampart app under those names", async () => {
    await t.app.inject({ method: "GET", url: "/health/live" });
    const res = await t.app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    const exported = new Map([...res.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const used = new Set(alerts.flatMap((a) => [...a.expr.matchAll(/\b((?:rampart|http_server)_[a-z0-9_]+)\b/g)].map((m) => m[1]!)));
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) {
      const base = name.replace(/_(bucket|count|sum)$/, "");
      const type = exported.get(name) ?? exported.get(base);
      expect(type, `${name} is not exported`).toBeDefined();
      if (name !== base) expect(type, name).toBe("histogram");
    }
    // Event-labelled rules name events of the catalogue.
    for (const m of alerts.flatMap((a) => [...a.expr.matchAll(/event="([^"]+)"/g)])) expect(res.body).toContain(`rampart_security_events_total{event="${m[1]}"}`);
  });
});
