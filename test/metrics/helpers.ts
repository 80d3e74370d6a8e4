/** Reading Prometheus text exposition in tests: one sample's value by name and labels. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The value of the first sample named `name` whose labels include `labels`; undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[k!] = v!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Every distinct value of one label across the samples of `name`. */
export function labelValues(text: string, name: string, label: string): string[] {
  const out = new Set<string>();
  const re = new RegExp(`^${name}\\{[^}]*\\b${label}="([^"]*)"`, "gm");
  for (const [, v] of text.matchAll(re)) out.add(v!);
  return [...out];
}

/**
 * A `files:<dir>` secrets directory holding `metrics-token`; returns the env to point a runtime at it, and a cleanup.
 * `env` comes after it: the keys of a PostgreSQL test database are in the test's environment.
 */
export function metricsTokenSecret(token: string): { env: Record<string, string>; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "rampart-metrics-secrets-"));
  writeFileSync(join(dir, "metrics-token"), `${token}\n`, { mode: 0o600 });
  return { env: { RAMPART_SECRETS: `files:${dir},env` }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
