/**
 * The shipped common-password list (src/auth/password/common-passwords.data.ts)
 * is derived from the `passwords-common` dictionary of @zxcvbn-ts/language-common
 * (itself from public breach-frequency lists); this test re-derives it from the
 * installed package and fails when the two disagree. Regenerate with
 * `UPDATE_COMMON_PASSWORDS=1 npx vitest run test/auth/password/common-passwords.test.ts`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dictionary } from "@zxcvbn-ts/language-common";
import { describe, expect, it } from "vitest";
import { COMMON_PASSWORDS_CHUNKS, COMMON_PASSWORDS_COUNT, COMMON_PASSWORDS_SOURCE } from "../../../src/auth/password/common-passwords.data.js";
import { loadCommonPasswords } from "../../../src/auth/password/policy-rules.js";

// The shortest PASSWORD_MIN_LENGTH the config accepts: shorter entries could never match.
const MIN_CONFIGURABLE_LENGTH = 8;
const PER_LINE = 100;
const DATA_FILE = new URL("../../../src/auth/password/common-passwords.data.ts", import.meta.url);

function derive(): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of dictionary["passwords-common"]) {
    const p = raw.normalize("NFKC").toLowerCase();
    if ([...p].length < MIN_CONFIGURABLE_LENGTH || p.includes("\n") || seen.has(p)) continue;
    seen.add(p);
    out.push(p);
  }
  return out;
}

function sourceVersion(): string {
  const pkg = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@zxcvbn-ts/language-common/package.json"), "utf8")) as { version: string };
  return `@zxcvbn-ts/language-common@${pkg.version} passwords-common`;
}

function render(list: string[], source: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < list.length; i += PER_LINE) chunks.push(`  ${JSON.stringify(list.slice(i, i + PER_LINE).join("\n"))},`);
  return [
    "/**",
    " * Common passwords refused by the password policy: generated, do not edit.",
    ` * Source: the \`passwords-common\` dictionary of ${source.split(" ")[0]} (ranked by`,
    " * frequency in public breach corpora), NFKC-normalized, lower-cased, deduplicated and",
    ` * limited to entries of at least ${MIN_CONFIGURABLE_LENGTH} code points (the shortest PASSWORD_MIN_LENGTH allowed):`,
    ` * ${list.length} entries, most common first, ${PER_LINE} per newline-joined chunk.`,
    " * Regenerate: UPDATE_COMMON_PASSWORDS=1 npx vitest run test/auth/password/common-passwords.test.ts",
    " */",
    `export const COMMON_PASSWORDS_SOURCE = ${JSON.stringify(source)};`,
    `export const COMMON_PASSWORDS_COUNT = ${list.length};`,
    "export const COMMON_PASSWORDS_CHUNKS: readonly string[] = [",
    ...chunks,
    "];",
    "",
  ].join("\n");
}

describe("shipped common-password list", () => {
  it("is the filtered passwords-common dictionary of the installed @zxcvbn-ts/language-common", () => {
    const expected = derive();
    if (process.env.UPDATE_COMMON_PASSWORDS === "1") writeFileSync(DATA_FILE, render(expected, sourceVersion()));
    expect(readFileSync(DATA_FILE, "utf8")).toBe(render(expected, sourceVersion()));
    expect(COMMON_PASSWORDS_SOURCE).toBe(sourceVersion());
    expect(COMMON_PASSWORDS_CHUNKS.join("\n").split("\n")).toEqual(expected);
    expect(COMMON_PASSWORDS_COUNT).toBe(expected.length);
  });

  it("loads into a set of every entry", () => {
    const set = loadCommonPasswords();
    expect(set.size).toBe(COMMON_PASSWORDS_COUNT);
    // Well-known breach-list entries of 8+ characters, independent of the generator.
    for (const p of ["password", "12345678", "1qaz2wsx3edc", "qwerty123456", "iloveyou", "trustno1"]) expect(set.has(p)).toBe(true);
  });
});
