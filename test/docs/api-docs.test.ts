/**
 * docs/api.md is the page scripts/update-api-docs.mjs writes from the route
 * schemas (through the OpenAPI document of the app with every route group on):
 * a schema change without the page regenerated fails here, and the page
 * leaves out no route, parameter or body field of the document.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument, renderApiDocs, type OpenApiDocument } from "../../scripts/api-docs.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";

const PAGE = new URL("../../docs/api.md", import.meta.url);
const METHODS = ["get", "post", "put", "patch", "delete"];

/** The section of `page` about one route: from its heading to the next heading. */
function section(page: string, method: string, path: string): string {
  const heading = `### \`${method.toUpperCase()} ${path}\``;
  const start = page.indexOf(`\n${heading}\n`);
  if (start === -1) return "";
  const rest = page.slice(start + heading.length + 2);
  const end = rest.search(/^#{2,3} /m);
  return end === -1 ? rest : rest.slice(0, end);
}

describe("docs/api.md", () => {
  let env: TestEnv;
  let doc: OpenApiDocument;
  let generated: string;

  beforeAll(async () => {
    // A copy of the migrated embedded database: the script builds the same app on a fresh one.
    env = await createTestEnv("embedded");
    doc = await openApiDocument(env.env.RAMPART_DATA_DIR!);
    generated = renderApiDocs(doc);
  });
  afterAll(() => env?.cleanup());

  it("is what the route schemas give today (else: npx tsx scripts/update-api-docs.mjs)", () => {
    const page = readFileSync(PAGE, "utf8");
    expect(page, "docs/api.md is out of date: run `npx tsx scripts/update-api-docs.mjs` and commit docs/api.md").toBe(generated);
  });

  it("has a section for every route of the OpenAPI document, with its auth, parameters and body fields", () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => [m, path] as const));
    expect(operations.length).toBeGreaterThan(40);
    expect(generated.match(/^### `/gm)).toHaveLength(operations.length);
    const missing: string[] = [];
    for (const [method, path] of operations) {
      const op = doc.paths[path]![method]!;
      const text = section(generated, method, path);
      const where = `${method.toUpperCase()} ${path}`;
      if (text === "") {
        missing.push(`${where}: no section`);
        continue;
      }
      if (!text.includes((op.security ?? []).length > 0 ? "**Auth:** `bearer`" : "**Auth:** none.")) missing.push(`${where}: auth`);
      for (const p of op.parameters ?? []) if (!text.includes(`| \`${p.name}\` |`)) missing.push(`${where}: parameter ${p.name}`);
      for (const media of Object.values(op.requestBody?.content ?? {})) {
        for (const field of Object.keys((media.schema?.properties as object | undefined) ?? {})) if (!text.includes(`| \`${field}\` |`)) missing.push(`${where}: body field ${field}`);
      }
      for (const status of Object.keys(op.responses ?? {})) if (!text.includes(`\`${status}\``)) missing.push(`${where}: response ${status}`);
    }
    expect(missing).toEqual([]);
  });

  describe("rendering", () => {
    const user = {
      type: "object",
      required: ["id", "name"],
      properties: { id: { type: "string" }, name: { anyOf: [{ type: "string", maxLength: 50 }, { type: "null" }] } },
    };
    const sample: OpenApiDocument = {
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A token" } } },
      paths: {
        "/v1/things/{id}": {
          put: {
            summary: "Replace a thing",
            tags: ["things", "admin"],
            security: [{ bearer: [] }],
            parameters: [{ in: "path", name: "id", required: true, schema: { type: "string", minLength: 1, maxLength: 64 } }],
            requestBody: {
              required: true,
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    additionalProperties: false,
                    required: ["name"],
                    properties: { name: { type: "string", minLength: 1, maxLength: 100, description: "Shown to people" }, tags: { type: "array", maxItems: 10, items: { type: "string", maxLength: 20 } } },
                  },
                },
              },
            },
            responses: {
              "200": {
                description: "Default Response",
                content: { "application/json": { schema: { type: "object", required: ["success", "data", "traceId"], properties: { success: { type: "boolean", enum: [true] }, data: { type: "object", required: ["thing"], properties: { thing: user } }, traceId: { type: "string" } } } } },
              },
            },
          },
        },
        "/health/live": { get: { summary: "Up", tags: ["health"], responses: { "200": { description: "Default Response", content: { "application/json": { schema: { type: "object", properties: { status: { type: "string", enum: ["pass", "fail"] } } } } } } } } },
      },
    };

    it("writes a route's auth, parameter and body tables with their limits, and the envelope's data as a type", () => {
      const text = section(renderApiDocs(sample), "put", "/v1/things/{id}");
      expect(text).toContain("Replace a thing.\n\nAlso under: admin.\n\n**Auth:** `bearer` — A token.");
      expect(text).toContain("| `id` | `string` | yes | 1–64 chars |");
      expect(text).toContain("**Body** (`application/json`)");
      expect(text).toContain("| `name` | `string` | yes | 1–100 chars — Shown to people |");
      expect(text).toContain("| `tags` | `string[]` | no | ≤ 10 items; each ≤ 20 chars |");
      expect(text).toContain("`200` `application/json` (envelope `data`)\n\n```ts\n{\n  thing: {\n    id: string;\n    name: string | null; // ≤ 50 chars\n  };\n}\n```");
    });

    it("groups routes by their first tag, sorted, and does not depend on the order of the document", () => {
      const page = renderApiDocs(sample);
      expect(page.indexOf("## health")).toBeLessThan(page.indexOf("## things"));
      expect(page).toContain("| [things](#things) | [`PUT /v1/things/{id}`](#put-v1thingsid) | yes | Replace a thing |");
      const reversed: OpenApiDocument = { ...sample, paths: Object.fromEntries(Object.entries(sample.paths).reverse()) };
      expect(renderApiDocs(reversed)).toBe(page);
    });
  });
});
