/**
 * The TypeScript snippets of docs/embedding.md type-check against the built
 * package, imported the way a user's code imports it.
 *
 * What the extractor reads in the markdown:
 * - Every fence opened with ```ts (or ```typescript) is one snippet: a module
 *   of its own, type-checked with the strictest settings an app may have
 *   (NodeNext). A snippet with a `declare module "rampart"` augmentation is
 *   checked in a program of its own, so it never makes another one pass.
 * - ```ts continues (a word after the language, which GitHub ignores when it
 *   highlights) appends the block to the previous snippet: for an example that
 *   prose splits in two. Errors still point at the line of the part they are in.
 * - Other fences (sh, text, ...) are not read.
 *
 * The package is built fresh for each run, in a temporary directory: the
 * declarations are emitted with tsconfig.build.json into
 * node_modules/rampart/dist next to a copy of package.json, so "rampart" and
 * "rampart/<subpath>" resolve through its "exports" map as in an install, never
 * to src/. Next to it are links to what an install of the package brings (its
 * dependencies and required peer dependencies, their dependencies) and
 * @types/node — none of the devDependencies, and none of the optional peers
 * (the AWS SDK clients, pkcs11js, PGlite, the OpenAPI UI), which npm leaves
 * out. One `tsc -b` run checks every snippet.
 *
 * In the same install, a program importing every subpath of "exports" is
 * type-checked with skipLibCheck off, as an app that checks the declarations
 * of its packages: Rampart's declarations must compile without the optional
 * peers.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const DOC = "docs/embedding.md";
const TSC = join(REPO, "node_modules", "typescript", "bin", "tsc");

interface Snippet {
  /** The markdown file the snippet is in, for messages. */
  file: string;
  /** The heading the snippet's first block is under. */
  heading: string;
  /** Line of the opening fence of its first block (1-based). */
  line: number;
  code: string[];
  /** The markdown line of each line of `code`. */
  origin: number[];
}

const label = (s: Snippet) => `${s.file}:${s.line} (${s.heading})`;

/** The snippets of a markdown text (conventions at the top of this file). */
function extractSnippets(markdown: string, file: string): Snippet[] {
  const snippets: Snippet[] = [];
  const lines = markdown.split("\n");
  let heading = "(before any heading)";
  let open: { fence: string; snippet?: Snippet } | undefined;
  lines.forEach((text, i) => {
    const lineNo = i + 1;
    if (open) {
      if (text.trim() === open.fence) open = undefined;
      else if (open.snippet) {
        open.snippet.code.push(text);
        open.snippet.origin.push(lineNo);
      }
      return;
    }
    const fence = /^\s*(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/.exec(text);
    if (fence) {
      const [, marker, lang, rest] = fence as unknown as [string, string, string, string];
      open = { fence: marker };
      if (lang !== "ts" && lang !== "typescript") return;
      if (rest.split(/\s+/).includes("continues")) {
        const previous = snippets.at(-1);
        if (!previous) throw new Error(`${file}:${lineNo}: a \`continues\` block with no snippet before it`);
        open.snippet = previous;
      } else {
        open.snippet = { file, heading, line: lineNo, code: [], origin: [] };
        snippets.push(open.snippet);
      }
      return;
    }
    const h = /^#{1,6}\s+(.*)$/.exec(text);
    if (h) heading = `${text.slice(0, text.indexOf(" "))} ${h[1]!.trim()}`;
  });
  if (open) throw new Error(`${file}: a fence is never closed`);
  return snippets;
}

const PACKAGE = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
  exports: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

/** The peer dependencies an app installs only for the feature that needs them. */
const OPTIONAL_PEERS = Object.keys(PACKAGE.peerDependencies ?? {}).filter((name) => PACKAGE.peerDependenciesMeta?.[name]?.optional);

/** What an app imports: "rampart" and "rampart/<subpath>", one per key of "exports". */
const EXPORTED_SPECIFIERS = Object.keys(PACKAGE.exports).map((key) => (key === "." ? "rampart" : `rampart/${key.replace(/^\.\//, "")}`));

/** Names of the packages an install of the repo's package.json brings (optional peers left out), and @types/node. */
function installedClosure(): string[] {
  const queue = [...Object.keys(PACKAGE.dependencies ?? {}), ...Object.keys(PACKAGE.peerDependencies ?? {}).filter((p) => !OPTIONAL_PEERS.includes(p)), "@types/node"];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    const manifest = join(REPO, "node_modules", name, "package.json");
    // Missing at the top level: an optional peer nobody installed, or a copy nested in its dependent's directory.
    if (!existsSync(manifest)) continue;
    seen.add(name);
    const dep = JSON.parse(readFileSync(manifest, "utf8"));
    const optional = dep.peerDependenciesMeta ?? {};
    queue.push(...Object.keys(dep.dependencies ?? {}), ...Object.keys(dep.peerDependencies ?? {}).filter((p) => !optional[p]?.optional));
  }
  return [...seen].sort();
}

/** Builds the package into `<dir>/node_modules/rampart` and links what an install would put next to it. */
function installBuiltPackage(dir: string): void {
  const pkgDir = join(dir, "node_modules", "rampart");
  const emit = spawnSync(
    process.execPath,
    [TSC, "-p", join(REPO, "tsconfig.build.json"), "--declaration", "--emitDeclarationOnly", "--sourceMap", "false", "--outDir", join(pkgDir, "dist")],
    { cwd: REPO, encoding: "utf8" },
  );
  if (emit.status !== 0) throw new Error(`emitting the declarations failed:\n${emit.stdout}${emit.stderr}`);
  copyFileSync(join(REPO, "package.json"), join(pkgDir, "package.json"));
  for (const name of installedClosure()) {
    const link = join(dir, "node_modules", name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(REPO, "node_modules", name), link, "dir");
  }
  // Snippets are ES modules (top-level await), as in an app whose package.json says so.
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "snippets", private: true, type: "module" }));
}

const SNIPPET_COMPILER_OPTIONS = {
  target: "ES2022",
  lib: ["ES2023"],
  module: "NodeNext",
  moduleResolution: "NodeNext",
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  // As most apps have it: the packages' own declarations are not checked (what ours import is checked below).
  skipLibCheck: true,
  types: ["node"],
  noEmit: true,
};

/** A snippet that augments a module or the global scope would change what every other snippet of its program sees. */
const augments = (s: Snippet) => s.code.some((line) => /^\s*declare\s+(module|global)\b/.test(line));

/**
 * Type-checks snippets in one `tsc -b` run in `dir` (which holds the installed
 * package): those that augment nothing share one project (modules cannot see
 * each other's names, and one program checks them much faster than one each),
 * each one that augments has a project of its own. Returns each snippet's
 * errors, located at their markdown line.
 */
function typeCheck(dir: string, snippets: Snippet[]): Map<Snippet, string[]> {
  mkdirSync(join(dir, "snippets"));
  const files = snippets.map((snippet, i) => {
    const file = `snippets/${String(i).padStart(3, "0")}.ts`;
    // `export {}` keeps a snippet without imports a module; it comes after the last line, so lines map 1:1.
    writeFileSync(join(dir, file), `${snippet.code.join("\n")}\nexport {};\n`);
    return file;
  });
  const groups = [files.filter((_, i) => !augments(snippets[i]!)), ...files.filter((_, i) => augments(snippets[i]!)).map((f) => [f])].filter((g) => g.length > 0);
  const projects = groups.map((group, i) => {
    const project = `projects/${i}`;
    mkdirSync(join(dir, project), { recursive: true });
    writeFileSync(join(dir, project, "tsconfig.json"), JSON.stringify({ compilerOptions: SNIPPET_COMPILER_OPTIONS, files: group.map((f) => `../../${f}`) }));
    return project;
  });
  const run = spawnSync(process.execPath, [TSC, "-b", ...projects, "--pretty", "false"], { cwd: dir, encoding: "utf8" });
  const errors = new Map<Snippet, string[]>(snippets.map((s) => [s, []]));
  const parsed = parseTscOutput(`${run.stdout}${run.stderr}`);
  const unplaced = [...parsed.unplaced];
  for (const e of parsed.errors) {
    const snippet = snippets[files.indexOf(e.file)];
    if (!snippet) {
      unplaced.push(`${e.file}(${e.line}): ${e.code}: ${e.message}`);
      continue;
    }
    const mdLine = snippet.origin[e.line - 1] ?? snippet.line;
    errors.get(snippet)!.push(`${snippet.file}:${mdLine} (snippet under "${snippet.heading}"): ${e.code}: ${e.message}`);
  }
  if (unplaced.length > 0 || (run.status !== 0 && [...errors.values()].every((e) => e.length === 0))) {
    throw new Error(`tsc -b failed outside the snippets (exit ${run.status}):\n${unplaced.join("\n")}`);
  }
  return errors;
}

interface TscError {
  /** The file, relative to the directory tsc ran in, with `/` separators. */
  file: string;
  line: number;
  code: string;
  /** The message, with the indented lines of a chained message. */
  message: string;
}

/** The errors of a `tsc --pretty false` output, and the lines that are not part of one. */
function parseTscOutput(output: string): { errors: TscError[]; unplaced: string[] } {
  const errors: TscError[] = [];
  const unplaced: string[] = [];
  for (const line of output.split("\n")) {
    if (line.trim() === "") continue;
    const m = /^(.+)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
    if (m) {
      const [, file, row, , code, message] = m as unknown as [string, string, string, string, string, string];
      errors.push({ file: file.split(sep).join("/"), line: Number(row), code, message });
    } else if (errors.length > 0 && /^\s/.test(line)) {
      errors[errors.length - 1]!.message += `\n${line}`;
    } else {
      unplaced.push(line);
    }
  }
  return { errors, unplaced };
}

const PUBLISHED_ENTRY = "published/every-subpath.ts";
const PEER_PROBE = "published/optional-peers.d.ts";

/**
 * Type-checks in `dir` (which holds the installed package), with skipLibCheck
 * off, a program importing every subpath of "exports", and next to it a
 * declaration file importing each optional peer. Returns every error of the
 * run, by file: the probe's are expected (one TS2307 per optional peer, which
 * shows that declaration files are checked and that no optional peer resolves
 * from the app's directory); any other is a declaration an app cannot compile.
 */
function checkPublishedTypes(dir: string): TscError[] {
  mkdirSync(join(dir, "published"));
  const names = EXPORTED_SPECIFIERS.map((_, i) => `s${i}`);
  writeFileSync(
    join(dir, PUBLISHED_ENTRY),
    `${EXPORTED_SPECIFIERS.map((spec, i) => `import * as ${names[i]} from "${spec}";`).join("\n")}\nexport { ${names.join(", ")} };\n`,
  );
  writeFileSync(join(dir, PEER_PROBE), `${OPTIONAL_PEERS.map((peer, i) => `import type * as p${i} from "${peer}";\nexport type Peer${i} = typeof p${i};`).join("\n")}\n`);
  writeFileSync(
    join(dir, "published", "tsconfig.json"),
    JSON.stringify({ compilerOptions: { ...SNIPPET_COMPILER_OPTIONS, skipLibCheck: false }, files: ["every-subpath.ts", "optional-peers.d.ts"] }),
  );
  const run = spawnSync(process.execPath, [TSC, "-p", "published", "--pretty", "false"], { cwd: dir, encoding: "utf8" });
  const { errors, unplaced } = parseTscOutput(`${run.stdout}${run.stderr}`);
  if (unplaced.length > 0 || (run.status !== 0 && errors.length === 0)) throw new Error(`tsc failed (exit ${run.status}):\n${unplaced.join("\n")}`);
  return errors;
}

/** Fixtures that prove the checker fails where it should, checked in the same tsc run as the docs. */
const SANITY_MD = [
  "## A wrong option name",
  "```ts",
  'import Fastify from "fastify";',
  'import { rampart } from "rampart";',
  "const app = Fastify();",
  "await app.register(rampart, { routez: { identity: true } });",
  "```",
  "## An augmentation stays in its snippet",
  "```ts",
  'import { guard } from "rampart";',
  'declare module "rampart" {',
  "  interface AppPermissions {",
  '    "notes:read": true;',
  "  }",
  "}",
  'guard("notes:read");',
  "```",
  "```ts",
  'import { guard } from "rampart";',
  'guard("notes:read");',
  "```",
  "## A continued snippet",
  "```ts",
  'import { ok } from "rampart";',
  "const reply = ok;",
  "```",
  "The second part uses the first one's names.",
  "```ts continues",
  "const same: typeof ok = reply;",
  "const wrong: string = same;",
  "```",
  "## A subpath import",
  "```ts",
  'import { definePolicy } from "rampart/ratelimit";',
  'definePolicy({ name: "x", limit: 1, windowMs: 1000, by: "ip" });',
  'import { notExported } from "rampart/ratelimit";',
  "```",
].join("\n");
const SANITY_FILE = "sanity.md";

describe(`${DOC} snippets type-check against the built package`, () => {
  const markdown = readFileSync(join(REPO, DOC), "utf8");
  const snippets = extractSnippets(markdown, DOC);
  const sanity = extractSnippets(SANITY_MD, SANITY_FILE);
  let dir: string;
  let errors: Map<Snippet, string[]>;
  let published: TscError[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rampart-snippets-"));
    installBuiltPackage(dir);
    errors = typeCheck(dir, [...snippets, ...sanity]);
    published = checkPublishedTypes(dir);
  }, 300_000);
  afterAll(() => {
    // Removes the links, never what they point to.
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reads every ts fence of the page", () => {
    const fences = markdown.match(/^\s*(`{3,}|~{3,})\s*(ts|typescript)(\s|$)/gm) ?? [];
    const continued = markdown.match(/^\s*(`{3,}|~{3,})\s*(ts|typescript)\s+continues\b/gm) ?? [];
    expect(fences.length).toBeGreaterThan(0);
    expect(snippets.length).toBe(fences.length - continued.length);
  });

  for (const snippet of snippets) {
    it(`${label(snippet)} type-checks`, () => {
      expect(errors.get(snippet), `${label(snippet)} does not type-check against the built package`).toEqual([]);
    });
  }

  it("the declarations import only Node built-ins and the packages package.json declares", () => {
    // An optional peer is not declared for this purpose: an app that did not install it could not compile the import.
    const declared = new Set([...Object.keys(PACKAGE.dependencies ?? {}), ...Object.keys(PACKAGE.peerDependencies ?? {})].filter((name) => !OPTIONAL_PEERS.includes(name)));
    const builtins = new Set(builtinModules);
    const undeclared: string[] = [];
    const imported = new Set<string>();
    const walk = (d: string): void => {
      for (const entry of readdirSync(d)) {
        const p = join(d, entry);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith(".d.ts")) {
          const text = readFileSync(p, "utf8");
          for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bdeclare\s+module\s+|reference\s+types=)["']([^"'.][^"']*)["']/g)) {
            const spec = m[1]!;
            const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
            imported.add(name);
            // `reference types="node"` is @types/node, which a TypeScript user of a Node package has.
            if (spec.startsWith("node:") || spec === "node" || builtins.has(name) || declared.has(name) || name === "rampart") continue;
            undeclared.push(`${relative(dir, p)}: ${spec}`);
          }
        }
      }
    };
    const dist = join(dir, "node_modules", "rampart", "dist");
    expect(existsSync(join(dist, "index.d.ts"))).toBe(true);
    walk(dist);
    // The scan reads the imports at all: the plugin's types are Fastify's.
    expect(imported).toContain("fastify");
    expect(undeclared, "a user's install has only dependencies and required peer dependencies").toEqual([]);
  });

  describe("an app importing every subpath of \"exports\", its packages' declarations checked (skipLibCheck off), without the optional peers", () => {
    it("covers the subpaths whose declarations reached optional peers, and those peers", () => {
      // Both lists are read from package.json (a new subpath or peer is covered as it is added); an empty one would check nothing.
      expect(EXPORTED_SPECIFIERS).toEqual(expect.arrayContaining(["rampart", "rampart/crypto", "rampart/secrets", "rampart/db"]));
      expect(OPTIONAL_PEERS).toEqual(expect.arrayContaining(["@aws-sdk/client-kms", "@aws-sdk/client-secrets-manager", "pkcs11js", "@electric-sql/pglite", "@fastify/swagger-ui"]));
    });

    it("none of the optional peers resolves from the app, and declaration files are checked (the probe fails on each)", () => {
      const probe = published.filter((e) => e.file === PEER_PROBE);
      expect(probe.map((e) => [e.line, e.code])).toEqual(OPTIONAL_PEERS.map((_, i) => [2 * i + 1, "TS2307"]));
      probe.forEach((e, i) => expect(e.message).toContain(`'${OPTIONAL_PEERS[i]}'`));
    });

    it("type-checks: no declaration of the package names a package the app does not have", () => {
      const others = published.filter((e) => e.file !== PEER_PROBE).map((e) => `${e.file}(${e.line}): ${e.code}: ${e.message}`);
      expect(others, "an app compiling with skipLibCheck off fails on these").toEqual([]);
    });
  });

  describe("the checker itself", () => {
    const at = (heading: string, nth = 0) => sanity.filter((s) => s.heading === `## ${heading}`)[nth]!;
    const mdLine = (needle: string) => SANITY_MD.split("\n").indexOf(needle) + 1;
    const lastLine = (needle: string) => SANITY_MD.split("\n").lastIndexOf(needle) + 1;

    it("fails a snippet with a wrong option name, naming its markdown line and the TS error", () => {
      const found = errors.get(at("A wrong option name"))!;
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(new RegExp(`^sanity\\.md:${mdLine("await app.register(rampart, { routez: { identity: true } });")} \\(snippet under "## A wrong option name"\\): TS\\d+: `));
      expect(found[0]).toContain("'routez'");
    });

    it("checks each snippet alone: an augmentation in one does not make another pass", () => {
      expect(errors.get(at("An augmentation stays in its snippet", 0))).toEqual([]);
      const other = errors.get(at("An augmentation stays in its snippet", 1))!;
      expect(other).toHaveLength(1);
      expect(other[0]).toMatch(new RegExp(`^sanity\\.md:${lastLine('guard("notes:read");')} .*TS2345: .*"notes:read"`));
    });

    it("appends a `continues` block to the previous snippet, locating errors in the part they are in", () => {
      const continued = at("A continued snippet");
      expect(sanity.filter((s) => s.heading === "## A continued snippet")).toHaveLength(1);
      expect(continued.code).toContain("const same: typeof ok = reply;");
      const found = errors.get(continued)!;
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(new RegExp(`^sanity\\.md:${mdLine("const wrong: string = same;")} .*TS2322: `));
    });

    it("resolves subpaths through the exports map, and fails a name the subpath does not export", () => {
      const found = errors.get(at("A subpath import"))!;
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(new RegExp(`^sanity\\.md:${mdLine('import { notExported } from "rampart/ratelimit";')} .*TS2305: .*notExported`));
    });

    it("refuses a `continues` block with nothing before it, and an unclosed fence", () => {
      expect(() => extractSnippets("# T\n```ts continues\nconst a = 1;\n```\n", "x.md")).toThrow("x.md:2: a `continues` block with no snippet before it");
      expect(() => extractSnippets("# T\n```ts\nconst a = 1;\n", "x.md")).toThrow("x.md: a fence is never closed");
    });
  });
});
