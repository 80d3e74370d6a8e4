/**
 * Loads the configuration from an environment map once, validates every value,
 * fills derived defaults and deep-freezes the result. Any bad value is a
 * ConfigError naming the variable, what was expected and what was received
 * (masked when secret); the entry points print it as one line and exit 1.
 */
import { ConfigValueError } from "./parsers.js";
import { configSpec, type Config, type VarSpec } from "./spec.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly received: string,
  ) {
    super(`${variable}: expected ${expected}, instead got ${received}`);
  }
}

/** Masks a secret for display: URLs keep scheme and host, anything else is fully hidden. */
export function maskSecret(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.host) return `${u.protocol}//${u.username || u.password ? "****@" : ""}${u.host}${u.pathname === "/" ? "" : "/****"}`;
  } catch {
    // not a URL: fall through
  }
  return "****";
}

function describeReceived(spec: VarSpec<unknown>, raw: string): string {
  if (spec.secret) return `'${maskSecret(raw)}' (masked)`;
  const shown = raw.length > 80 ? `${raw.slice(0, 77)}...` : raw;
  return `'${shown}'`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(configSpec) as [string, VarSpec<unknown>][]) {
    const raw = env[spec.env];
    const source = raw === undefined || raw === "" ? spec.default : raw;
    if (source === undefined) {
      out[key] = undefined;
      continue;
    }
    try {
      out[key] = spec.parse(source);
    } catch (err) {
      if (err instanceof ConfigValueError) throw new ConfigError(spec.env, err.expected, describeReceived(spec, source));
      throw err;
    }
  }
  out.publicUrlConfigured = out.publicUrl !== undefined;
  if (out.publicUrl === undefined) {
    const h = String(out.host);
    out.publicUrl = `http://${h.includes(":") ? `[${h}]` : h}:${String(out.port)}`;
  }
  return deepFreeze(out) as Config;
}

/** The effective configuration as display rows, secrets masked (for `rampart config`). */
export function describeConfig(config: Config): { env: string; value: string; isDefault: boolean; secret: boolean }[] {
  return (Object.entries(configSpec) as [keyof Config & string, VarSpec<unknown>][]).map(([key, spec]) => {
    const value = config[key];
    let shown: string;
    if (value === undefined) shown = "(unset)";
    else if (spec.secret) shown = maskSecret(String(value));
    else shown = Array.isArray(value) ? value.join(",") : String(value);
    const isDefault = spec.default !== undefined ? String(spec.parse(spec.default)) === String(value) : value === undefined;
    return { env: spec.env, value: shown, isDefault, secret: spec.secret === true };
  });
}
