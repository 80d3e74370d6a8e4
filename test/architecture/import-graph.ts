/**
 * The static import graph of `src/`, read with TypeScript's own pre-processor
 * (`ts.preProcessFile`: the specifiers of `import`, `export ... from` and
 * `import()` with a literal, without type-checking). Type-only imports and
 * re-exports are left out: they vanish at compile time, so they cannot make a
 * module load another one.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

export const SRC = resolve(import.meta.dirname, "../../src");

/** Every `.ts` file under a directory, as absolute paths. */
export function sourceFiles(dir: string = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** True when an import or export statement brings in types only (`import type`, `export type`, or every named binding marked `type`). */
function typeOnly(node: ts.Statement): boolean {
  if (ts.isImportDeclaration(node)) {
    const clause = node.importClause;
    if (!clause) return false; // `import "x"`: a side effect
    if (clause.isTypeOnly) return true;
    if (clause.name) return false;
    const bindings = clause.namedBindings;
    return bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
  }
  if (ts.isExportDeclaration(node)) {
    if (node.isTypeOnly) return true;
    const clause = node.exportClause;
    return clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
  }
  return false;
}

/**
 * Relative and package specifiers of a file: every import when `types` is
 * true, else only those that load code at run time (type-only ones dropped).
 */
export function specifiers(file: string, types: boolean): string[] {
  const text = readFileSync(file, "utf8");
  const all = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  if (types) return [...new Set(all)];
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false);
  const erased = new Set<string>();
  const kept = new Set<string>();
  for (const st of source.statements) {
    if ((ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
      (typeOnly(st) ? erased : kept).add(st.moduleSpecifier.text);
    }
  }
  // A specifier imported both as types and as values loads; one only ever imported as types does not.
  return [...new Set(all)].filter((s) => kept.has(s) || !erased.has(s));
}

/** Maps a relative `.js` specifier of a source file to the `.ts` file it names. */
function resolveLocal(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return resolve(dirname(from), specifier.replace(/\.js$/, ".ts"));
}

/** Graph: source file (relative to src/) → the source files it imports (with `types`, type-only imports too). */
export function importGraph(options: { types: boolean }, dir: string = SRC): Map<string, string[]> {
  const files = new Set(sourceFiles(dir));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = specifiers(file, options.types)
      .map((s) => resolveLocal(file, s))
      .filter((t): t is string => t !== undefined && files.has(t))
      .map((t) => relative(dir, t));
    graph.set(relative(dir, file), [...new Set(targets)].sort());
  }
  return graph;
}

/**
 * The strongly connected components with more than one file (or a file that
 * imports itself), each as one cycle through it: Tarjan's algorithm, then a
 * shortest path back to the start inside the component, so the message shows
 * a readable loop rather than a set.
 */
export function findCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return components.map((comp) => loopThrough(graph, comp));
}

/** A shortest loop from the first file of a component back to itself, staying inside it. */
function loopThrough(graph: Map<string, string[]>, comp: string[]): string[] {
  const inside = new Set(comp);
  const start = comp[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...comp, start];
}
