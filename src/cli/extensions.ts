/**
 * The host app's extensions for the `rampart` CLI: the module RAMPART_EXTENSIONS
 * names exports the KEK providers, secrets schemes and migrations the app gives
 * the plugin (or createRuntime), so `rampart migrate`, `keys`, `secrets`, ...
 * work with them too. The CLI is not the app's code; this module is the one
 * place the two meet. Anything wrong with it stops the command with one line
 * naming RAMPART_EXTENSIONS (a ConfigError), before anything opens.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../config/index.js";
import { UnknownKekProviderError } from "../crypto/errors.js";
import { kekProviderRegistry } from "../crypto/kek/index.js";
import { checkAppMigrations } from "../db/index.js";
import type { RuntimeOptions } from "../runtime/index.js";
import { secretsProviderRegistry } from "../secrets/chain.js";
import { UnknownSecretsSchemeError } from "../secrets/schemes.js";

/**
 * What the module named by RAMPART_EXTENSIONS exports, each optional: the
 * same values the app passes to the `rampart` plugin or `createRuntime`.
 */
export type RampartExtensions = Pick<RuntimeOptions, "kekProviders" | "secretsProviders" | "migrations">;

/**
 * Types an extensions object and returns it unchanged, keeping the type of
 * what it holds (so each export is defined, as plugin options expect): `export
 * const { kekProviders, migrations } = defineExtensions({ ... })`. A key
 * other than the three is a type error.
 */
export function defineExtensions<E extends RampartExtensions>(extensions: E & { readonly [K in Exclude<keyof E, keyof RampartExtensions>]: never }): E {
  return extensions;
}

export const EXTENSIONS_VARIABLE = "RAMPART_EXTENSIONS";
const KEYS = ["kekProviders", "secretsProviders", "migrations"] as const;
type Key = (typeof KEYS)[number];
const isKey = (name: string): name is Key => (KEYS as readonly string[]).includes(name);

function refuse(expected: string, received: string): ConfigError {
  return new ConfigError(EXTENSIONS_VARIABLE, expected, received);
}

/** The first line of an error's message: the command's error stays one line. */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n", 1)[0]!.trim();
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}

/** Names as `'a', 'b'`; a long list (a library named by mistake) is cut to its first few. */
function quoted(names: string[]): string {
  const shown = names.slice(0, 5).map((n) => `'${n}'`).join(", ");
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/** A path (`./dist/x.js`, `/abs/x.js`) is resolved against `cwd`; anything else is a package specifier. */
function isPath(specifier: string): boolean {
  return specifier === "." || specifier === ".." || /^\.{1,2}[\\/]/.test(specifier) || isAbsolute(specifier);
}

/**
 * The URL to import. A package is looked up from `cwd`, as the app's own code
 * would find it; one whose exports only answer `import` (which this lookup
 * cannot see) is looked up from where Rampart is installed, normally the
 * same node_modules.
 */
function locate(specifier: string, cwd: string): string {
  const notFound = (where: string) => refuse("a module to import (a path from the current directory, or a package)", `'${specifier}': no such module (${where})`);
  if (isPath(specifier)) {
    const file = resolve(cwd, specifier);
    if (!existsSync(file)) throw notFound(file);
    return pathToFileURL(file).href;
  }
  try {
    return pathToFileURL(createRequire(join(cwd, "package.json")).resolve(specifier)).href;
  } catch {
    try {
      return import.meta.resolve(specifier);
    } catch {
      throw notFound(`looked up from ${cwd}`);
    }
  }
}

/**
 * The export names and values of a module namespace. A CommonJS module (and
 * an ESM module written `export default defineExtensions({...})`) has its
 * values on `default`: accepted when that is an object of extension keys only.
 */
function exportsOf(specifier: string, namespace: Record<string, unknown>): Partial<Record<Key, unknown>> {
  const names = Object.keys(namespace).filter((n) => n !== "__esModule");
  const unknown = names.filter((n) => n !== "default" && !isKey(n));
  const onlyKnown = `a module exporting only ${KEYS.join(", ")}`;
  if (unknown.length > 0) throw refuse(onlyKnown, `'${specifier}', which exports ${quoted(unknown)}`);
  const values: Partial<Record<Key, unknown>> = {};
  for (const key of KEYS) if (namespace[key] !== undefined) values[key] = namespace[key];
  if (names.includes("default")) {
    const d = namespace.default;
    if (d === null || typeof d !== "object" || Array.isArray(d)) throw refuse(onlyKnown, `'${specifier}', whose default export is ${kindOf(d)}`);
    const inner = Object.keys(d).filter((n) => n !== "__esModule");
    const stray = inner.filter((n) => !isKey(n));
    if (stray.length > 0) throw refuse(onlyKnown, `'${specifier}', whose default export has ${quoted(stray)}`);
    for (const key of inner as Key[]) {
      const v = (d as Record<Key, unknown>)[key];
      if (v === undefined) continue;
      // CommonJS shows each value twice (named and on default): the same value, never two.
      if (values[key] !== undefined && values[key] !== v) throw refuse(`${key} exported once`, `'${specifier}', which exports it by name and differently in its default export`);
      values[key] = v;
    }
  }
  return values;
}

/** Checks each value as the runtime will register it, so a bad one is refused here, naming the variable. */
function checked(specifier: string, values: Partial<Record<Key, unknown>>): RampartExtensions {
  const { kekProviders, secretsProviders, migrations } = values;
  for (const [key, value, what] of [
    ["kekProviders", kekProviders, "KEK provider definitions"],
    ["secretsProviders", secretsProviders, "secrets provider definitions"],
  ] as const) {
    if (value !== undefined && !Array.isArray(value)) throw refuse(`${key} to be an array of ${what}`, `${kindOf(value)} from '${specifier}'`);
  }
  if (migrations !== undefined && (migrations === null || typeof migrations !== "object" || Array.isArray(migrations))) {
    throw refuse("migrations to be an object of Kysely migrations by name", `${kindOf(migrations)} from '${specifier}'`);
  }
  const attempt = (key: Key, fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      throw refuse(`${key} that can be registered`, `'${specifier}': ${reason(err)}`);
    }
  };
  const extensions = values as RampartExtensions;
  if (extensions.kekProviders) attempt("kekProviders", () => kekProviderRegistry(extensions.kekProviders));
  if (extensions.secretsProviders) attempt("secretsProviders", () => secretsProviderRegistry(extensions.secretsProviders));
  if (extensions.migrations) attempt("migrations", () => checkAppMigrations(extensions.migrations!));
  return extensions;
}

/**
 * Loads the extensions RAMPART_EXTENSIONS names in `env` (none when it is
 * unset or empty); a path is resolved against `cwd`. Throws a ConfigError
 * naming RAMPART_EXTENSIONS and the problem.
 */
export async function loadExtensions(env: Record<string, string | undefined>, cwd: string = process.cwd()): Promise<RampartExtensions> {
  const specifier = env[EXTENSIONS_VARIABLE]?.trim();
  if (!specifier) return {};
  const url = locate(specifier, cwd);
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw refuse("a module that loads", `'${specifier}', which failed: ${reason(err)}`);
  }
  return checked(specifier, exportsOf(specifier, namespace));
}

/**
 * For an error naming a KEK provider or secrets scheme nobody registered: how
 * the CLI learns the app's own (undefined for any other error).
 */
export function extensionsHint(err: unknown, env: Record<string, string | undefined>): string | undefined {
  const unknownKek = err instanceof UnknownKekProviderError;
  const unknownScheme = err instanceof UnknownSecretsSchemeError;
  if (!unknownKek && !unknownScheme) return undefined;
  const what = unknownKek ? "kekProviders" : "secretsProviders";
  return env[EXTENSIONS_VARIABLE]?.trim()
    ? `the module ${EXTENSIONS_VARIABLE} names does not export it in ${what}`
    : `an app's own is known to the CLI when ${EXTENSIONS_VARIABLE} names the module exporting it in ${what}`;
}
