/**
 * No import cycles in src/. A cycle makes load order decide which module sees
 * the other half-initialised, and it drags every module of the loop into any
 * entry point that touches one of them (a runtime that imported the audit
 * barrel loaded the auth plugin and Fastify). Type-only imports count too: a
 * loop of types still ties two modules into one unit that cannot be read,
 * tested or moved alone.
 */
import { describe, expect, it } from "vitest";
import { findCycles, importGraph } from "./import-graph.js";

describe("import graph of src/", () => {
  it("has no cycle, counting type-only imports", () => {
    const cycles = findCycles(importGraph({ types: true }));
    expect(cycles.map((c) => c.join(" → ")), "import cycles").toEqual([]);
  });

  it("is read from the sources: a known edge is present and a file's type-only import is told apart", () => {
    const all = importGraph({ types: true });
    const runtime = importGraph({ types: false });
    // runtime/runtime.ts creates the audit log: a value import of the file, not of the audit barrel.
    expect(runtime.get("runtime/runtime.ts")).toContain("audit/audit-log.ts");
    expect(runtime.get("runtime/runtime.ts")).not.toContain("audit/index.ts");
    // crypto/message.ts names MessageKeys only as a type.
    expect(all.get("crypto/message.ts")).toContain("crypto/message-keys.ts");
    expect(runtime.get("crypto/message.ts")).not.toContain("crypto/message-keys.ts");
  });
});

describe("findCycles", () => {
  it("reports each loop once, as a path back to its start", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "d.ts"]],
      ["d.ts", []],
      ["e.ts", ["e.ts"]],
    ]);
    expect(findCycles(graph)).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"], ["e.ts", "e.ts"]]);
  });
});
