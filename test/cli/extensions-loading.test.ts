/**
 * loadExtensions() and extensionsHint() in this process: every way a module
 * named by RAMPART_EXTENSIONS can be unusable is refused with one
 * ConfigError naming the variable, what was expected and what was found;
 * a usable one (named or default exports, a path or a package) gives its
 * values. The commands that use them, as child processes, are in
 * extensions.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { extensionsHint, loadExtensions } from "../../src/cli/extensions.js";
import { ConfigError } from "../../src/config/index.js";
import { UnknownKekProviderError } from "../../src/crypto/errors.js";
import { UnknownSecretsSchemeError } from "../../src/secrets/schemes.js";

const dir = mkdtempSync(join(tmpdir(), "rampart-ext-load-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes an ES module with `source` and returns its specifier relative to `dir`. */
function esm(source: string): string {
  const name = `ext-${n++}.mjs`;
  writeFileSync(join(dir, name), source);
  return `./${name}`;
}

const SCHEME = `{ scheme: "ext-test", usage: "ext-test:<X>", accepts: () => true, open: () => ({ provider: () => ({ id: "ext-test", locate: (n) => n, load: async () => undefined, list: async () => [] }) }) }`;
const MIGRATION = `{ "0001-app": { up: async () => undefined } }`;

async function refusal(specifier: string): Promise<string> {
  const err = await loadExtensions({ RAMPART_EXTENSIONS: specifier }, dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, specifier).toBeInstanceOf(ConfigError);
  const message = (err as Error).message;
  expect(message.startsWith("RAMPART_EXTENSIONS: expected ")).toBe(true);
  expect(message).not.toContain("\n");
  return message;
}

describe("loadExtensions", () => {
  it("gives none when RAMPART_EXTENSIONS is unset or blank", async () => {
    expect(await loadExtensions({}, dir)).toEqual({});
    expect(await loadExtensions({ RAMPART_EXTENSIONS: "   " }, dir)).toEqual({});
  });

  it("reads named exports, and the values of a default export of extension keys only", async () => {
    const named = await loadExtensions({ RAMPART_EXTENSIONS: ` ${esm(`export const secretsProviders = [${SCHEME}];\nexport const migrations = ${MIGRATION};\n`)} ` }, dir);
    expect(named.secretsProviders?.map((s) => s.scheme)).toEqual(["ext-test"]);
    expect(Object.keys(named.migrations ?? {})).toEqual(["0001-app"]);
    // An undefined value on default is no value; the same value by name and on default is one.
    const both = esm(`const s = [${SCHEME}];\nexport const secretsProviders = s;\nexport default { secretsProviders: s, kekProviders: undefined, migrations: ${MIGRATION} };\n`);
    const merged = await loadExtensions({ RAMPART_EXTENSIONS: join(dir, both) }, "/");
    expect(Object.keys(merged).sort()).toEqual(["migrations", "secretsProviders"]);
    expect(merged.secretsProviders?.[0]?.scheme).toBe("ext-test");
  });

  it("refuses a package found nowhere, saying where it looked", async () => {
    const message = await refusal("acme-no-such-rampart-extensions");
    expect(message).toBe(
      `RAMPART_EXTENSIONS: expected a module to import (a path from the current directory, or a package), instead got 'acme-no-such-rampart-extensions': no such module (looked up from ${dir})`,
    );
  });

  it("refuses a module that fails to load with the first line of its error", async () => {
    const message = await refusal(esm(`throw new Error("no database here\\nsecond line of the stack");\n`));
    expect(message).toMatch(/^RAMPART_EXTENSIONS: expected a module that loads, instead got '\.\/ext-\d+\.mjs', which failed: no database here$/);
    // A directory is a path that exists but no module.
    mkdirSync(join(dir, "sub"));
    expect(await refusal("./sub")).toContain("expected a module that loads, instead got './sub', which failed: ");
  });

  it("names at most five unknown exports", async () => {
    const names = ["a", "b", "c", "d", "e", "f", "g"];
    const message = await refusal(esm(names.map((x) => `export const ${x} = 1;`).join("\n")));
    expect(message).toMatch(/which exports 'a', 'b', 'c', 'd', 'e' and 2 more$/);
  });

  it.each([
    ["null", "null"],
    ["[1, 2]", "an array"],
    ["42", "number"],
    ['"kekProviders"', "string"],
  ])("refuses a default export that is %s", async (value, kind) => {
    const message = await refusal(esm(`export default ${value};\n`));
    expect(message).toMatch(new RegExp(`^RAMPART_EXTENSIONS: expected a module exporting only kekProviders, secretsProviders, migrations, instead got '[^']+', whose default export is ${kind}$`));
  });

  it("refuses a default export with other keys, and one that differs from the named export", async () => {
    expect(await refusal(esm(`export default { migrations: {}, kekProvider: [] };\n`))).toMatch(/whose default export has 'kekProvider'$/);
    expect(await refusal(esm(`export const migrations = ${MIGRATION};\nexport default { migrations: ${MIGRATION} };\n`))).toMatch(
      /^RAMPART_EXTENSIONS: expected migrations exported once, instead got '[^']+', which exports it by name and differently in its default export$/,
    );
  });

  it.each([
    ["kekProviders", "{}", "expected kekProviders to be an array of KEK provider definitions, instead got an object from"],
    ["secretsProviders", '"env"', "expected secretsProviders to be an array of secrets provider definitions, instead got string from"],
    ["migrations", "null", "expected migrations to be an object of Kysely migrations by name, instead got null from"],
    ["migrations", "[]", "expected migrations to be an object of Kysely migrations by name, instead got an array from"],
    ["migrations", "7", "expected migrations to be an object of Kysely migrations by name, instead got number from"],
  ])("refuses %s = %s", async (key, value, expected) => {
    expect(await refusal(esm(`export const ${key} = ${value};\n`))).toContain(expected);
  });

  it("refuses values the registries refuse, with their reason", async () => {
    expect(await refusal(esm(`export const migrations = { "0001-app": {} };\n`))).toMatch(/expected migrations that can be registered, instead got '[^']+': app migration '0001-app' has no up\(db\) function$/);
    const twice = await refusal(esm(`export const secretsProviders = [${SCHEME}, ${SCHEME}];\n`));
    expect(twice).toMatch(/expected secretsProviders that can be registered, instead got '[^']+': .*ext-test/);
  });
});

describe("extensionsHint", () => {
  const kek = new UnknownKekProviderError("acme-kms", ["local"]);
  const scheme = new UnknownSecretsSchemeError("acme", "acme:x", ["env"]);

  it("tells how the CLI learns an app's provider or scheme when RAMPART_EXTENSIONS is unset", () => {
    expect(extensionsHint(kek, {})).toBe("an app's own is known to the CLI when RAMPART_EXTENSIONS names the module exporting it in kekProviders");
    expect(extensionsHint(scheme, { RAMPART_EXTENSIONS: " " })).toBe("an app's own is known to the CLI when RAMPART_EXTENSIONS names the module exporting it in secretsProviders");
  });

  it("says the named module lacks it when RAMPART_EXTENSIONS is set", () => {
    expect(extensionsHint(kek, { RAMPART_EXTENSIONS: "./ext.mjs" })).toBe("the module RAMPART_EXTENSIONS names does not export it in kekProviders");
    expect(extensionsHint(scheme, { RAMPART_EXTENSIONS: "./ext.mjs" })).toBe("the module RAMPART_EXTENSIONS names does not export it in secretsProviders");
  });

  it("has nothing to add to any other error", () => {
    expect(extensionsHint(new Error("RAMPART_KMS: unknown"), {})).toBeUndefined();
    expect(extensionsHint("unknown KEK provider", { RAMPART_EXTENSIONS: "./ext.mjs" })).toBeUndefined();
  });
});
