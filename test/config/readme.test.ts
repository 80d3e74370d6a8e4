import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configTableRows } from "../../src/config/table.js";

describe("README", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

  it("has the configuration table of src/config/spec.ts (regenerate: npx tsx scripts/update-readme-config.mjs)", () => {
    const m = /<!-- config-table:start -->\n([\s\S]*?)<!-- config-table:end -->/.exec(readme);
    expect(m).not.toBeNull();
    expect(m![1]!.trim().split("\n")).toEqual(configTableRows());
  });

  it("gives the two set-up commands", () => {
    expect(readme).toContain("npm install && npm start");
    expect(readme).toMatch(/^npm test\s/m);
  });
});
