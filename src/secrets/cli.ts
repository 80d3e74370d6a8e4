/**
 * Output of `rampart secrets list` and `rampart secrets check`, written to a
 * stream so the CLI and tests share it. Neither ever prints a value: list
 * reads provider metadata only, and check prints names, providers, versions
 * and error reasons (which the errors module builds without values).
 */
import type { SecretsService } from "./types.js";

interface Out {
  write(chunk: string): unknown;
}

/** `2d 4h`, `3h 5m`, `12m`, `45s`; `-` when unknown. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return "-";
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m`;
  return `${seconds}s`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd()).join("\n") + "\n";
}

/**
 * Prints every secret the providers hold: name, provider, version, age, and
 * the later providers it shadows. Returns the exit code: 1 when a provider
 * could not be listed, else 0.
 */
export async function runSecretsList(secrets: SecretsService, out: Out): Promise<number> {
  const { secrets: rows, errors } = await secrets.list();
  out.write(`providers: ${secrets.providerIds.join(", ")}\n`);
  if (rows.length === 0) out.write("no secrets found\n");
  else {
    out.write(
      table([
        ["NAME", "PROVIDER", "VERSION", "AGE", "SHADOWS"],
        ...rows.map((s) => [s.name, s.provider, s.version ?? "-", formatAge(s.ageSeconds), s.shadowed.join(",") || "-"]),
      ]),
    );
  }
  for (const e of errors) out.write(`error: ${e.provider} could not be listed: ${e.message}\n`);
  return errors.length > 0 ? 1 : 0;
}

/**
 * Checks that every name resolves (every listed secret when `names` is
 * empty). Prints one line per name and a summary; returns the exit code:
 * 0 when all resolve, 1 otherwise.
 */
export async function runSecretsCheck(secrets: SecretsService, names: readonly string[], out: Out): Promise<number> {
  let wanted = names;
  if (wanted.length === 0) {
    const listing = await secrets.list();
    for (const e of listing.errors) out.write(`error: ${e.provider} could not be listed: ${e.message}\n`);
    wanted = listing.secrets.map((s) => s.name);
    if (wanted.length === 0) {
      out.write("no secrets to check\n");
      return listing.errors.length > 0 ? 1 : 0;
    }
  }
  const report = await secrets.check(wanted);
  out.write(
    table(report.results.map((r) => [r.status === "ok" ? "ok" : r.status.toUpperCase(), r.name, r.status === "ok" ? `${r.provider ?? ""}${r.version ? ` (version ${r.version})` : ""}` : (r.message ?? "")])),
  );
  const failed = report.results.filter((r) => r.status !== "ok").length;
  out.write(`${report.results.length - failed} ok, ${failed} failed\n`);
  return report.ok ? 0 : 1;
}
