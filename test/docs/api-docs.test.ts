/**
 * docs/api.md is the page scripts/update-api-docs.mjs writes from the route
 * schemas (through the OpenAPI document of the app with every route group on):
 * a schema change without the page regenerated fails here, and the page
 * leaves out no route, permission, parameter, body field or response status
 * of the document.
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

  it("has a section for every route of the OpenAPI document, with its auth and permissions, parameters, body fields and responses", () => {
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
      const auth = text.split("\n").find((line) => line.startsWith("**Auth:**")) ?? "";
      for (const p of (op.security ?? []).flatMap((req) => Object.values(req).flat())) if (!auth.includes(`\`${p}\``)) missing.push(`${where}: permission ${p}`);
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

    it("names a route's permissions on its Auth line and in the route table, not twice in its description", () => {
      const guarded: OpenApiDocument = {
        ...sample,
        paths: {
          "/v1/reports": {
            get: {
              summary: "Reports",
              tags: ["reports"],
              description: "Newest first.\n\nRequires `reports:read` and `files:read`.",
              security: [{ bearer: ["reports:read", "files:read"] }],
              responses: { "200": { description: "Default Response" } },
            },
          },
          "/v1/reports/latest": { get: { summary: "Latest report", tags: ["reports"], description: "Requires `reports:read`.", security: [{ bearer: ["reports:read"] }], responses: { "200": { description: "Default Response" } } } },
        },
      };
      const page = renderApiDocs(guarded);
      const text = section(page, "get", "/v1/reports");
      expect(text).toContain("Reports.\n\nNewest first.\n\n**Auth:** `bearer` — A token. Requires `reports:read` and `files:read`.\n");
      expect(text.match(/Requires/g)).toHaveLength(1);
      expect(section(page, "get", "/v1/reports/latest")).toContain("Latest report.\n\n**Auth:** `bearer` — A token. Requires `reports:read`.\n");
      expect(page).toContain("| [`GET /v1/reports`](#get-v1reports) | `reports:read`, `files:read` | Reports |");
      expect(section(renderApiDocs(sample), "put", "/v1/things/{id}")).toContain("**Auth:** `bearer` — A token. No permission required.\n");
    });

    it("links an error answer to the error envelope and the problem document instead of repeating their shapes", () => {
      const withError: OpenApiDocument = {
        ...sample,
        components: {
          ...sample.components,
          schemas: {
            ErrorEnvelope: { type: "object", required: ["success", "code"], properties: { success: { type: "boolean", enum: [false] }, code: { type: "string" } } },
            ProblemDocument: { type: "object", required: ["type", "code"], properties: { type: { type: "string" }, code: { type: "string" } } },
          },
        },
        paths: {
          "/v1/things": {
            get: {
              summary: "Things",
              tags: ["things"],
              responses: {
                "200": { description: "Default Response", content: { "application/json": { schema: { type: "object", properties: { n: { type: "integer" } } } } } },
                "401": {
                  description: "`UNAUTHENTICATED`: no credential",
                  content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } }, "application/problem+json": { schema: { $ref: "#/components/schemas/ProblemDocument" } } },
                },
                "409": { description: "A conflict", content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } } } },
              },
            },
          },
        },
      };
      const page = renderApiDocs(withError);
      const text = section(page, "get", "/v1/things");
      expect(text).toContain("`401` [error](#error-envelope) — `UNAUTHENTICATED`: no credential\n");
      // Anything but the exact pair of error bodies is shown as it is.
      expect(text).toContain("`409` `application/json` — A conflict\n\n```ts\nErrorEnvelope\n```");
      expect(page).toContain("## Error envelope\n\n```ts\n{ success: false; code: string }\n```");
      expect(page).toContain("## Problem document\n\n```ts\n{ type: string; code: string }\n```");
    });

    it("describes a response once, before its first media type", () => {
      const twoTypes: OpenApiDocument = {
        ...sample,
        paths: {
          "/v1/export": {
            get: {
              summary: "Export",
              tags: ["things"],
              responses: { "200": { description: "An attachment", content: { "application/json": { schema: { type: "object", properties: { n: { type: "integer" } } } }, "application/zip": { schema: { type: "string", format: "binary" } } } } },
            },
          },
        },
      };
      const text = section(renderApiDocs(twoTypes), "get", "/v1/export");
      expect(text).toContain("`200` `application/json` — An attachment\n\n```ts\n{ n?: integer }\n```\n\n`200` `application/zip`\n\nThe raw bytes.");
    });

    it("groups routes by their first tag, sorted, and does not depend on the order of the document", () => {
      const page = renderApiDocs(sample);
      expect(page.indexOf("## health")).toBeLessThan(page.indexOf("## things"));
      expect(page).toContain("| [things](#things) | [`PUT /v1/things/{id}`](#put-v1thingsid) | a credential | Replace a thing |");
      const reversed: OpenApiDocument = { ...sample, paths: Object.fromEntries(Object.entries(sample.paths).reverse()) };
      expect(renderApiDocs(reversed)).toBe(page);
    });
  });
});
