/**
 * Threat: unbounded or open request input — mass assignment through fields a
 * handler did not expect (`{"roles":["admin"]}` on a profile update), memory
 * and CPU exhaustion through one huge string or a million-item array, or a
 * schema that accepts anything. Every product route must bound its params,
 * query and body, and a route that does not is refused when the app is built.
 */
import { Type } from "@sinclair/typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestSchemaViolations } from "../../src/http/schema-rules.js";
import { buildApp } from "../../src/server/app.js";
import { Envelope } from "../../src/server/envelope.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { registerAndLogin } from "../helpers/api.js";
import { testModes } from "../helpers/modes.js";

const Reply = { 200: Envelope(Type.Object({})) };
const name = Type.String({ maxLength: 100 });

describe("request-schema rules", () => {
  it("accepts a schema that bounds everything (nested objects, unions, literals, tuples)", () => {
    const schema = Type.Object(
      {
        name,
        kind: Type.Union([Type.Literal("a"), Type.Literal("b")]),
        note: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
        tags: Type.Array(Type.String({ maxLength: 30 }), { maxItems: 100 }),
        point: Type.Tuple([Type.Number(), Type.Number()]),
        nested: Type.Object({ ok: Type.Boolean(), when: Type.String({ format: "date-time", maxLength: 64 }) }, { additionalProperties: false }),
        count: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    );
    expect(requestSchemaViolations(schema)).toEqual([]);
  });

  it("names each violation with the JSON Pointer of the schema that breaks it", () => {
    const schema = Type.Object({
      open: Type.Object({ a: name }),
      text: Type.String(),
      list: Type.Array(name),
      big: Type.Array(name, { maxItems: 1000 }),
      anything: Type.Unknown(),
      deep: Type.Object({ items: Type.Array(Type.Object({ s: Type.String() }, { additionalProperties: false }), { maxItems: 5 }) }, { additionalProperties: false }),
      union: Type.Union([Type.String(), Type.Null()]),
      "a/b": Type.String(),
    });
    expect(requestSchemaViolations(schema).map((v) => `${v.pointer} ${v.problem.split(" (")[0]}`)).toEqual([
      " is an object without additionalProperties: false",
      "/properties/open is an object without additionalProperties: false",
      "/properties/text is a string without maxLength",
      "/properties/list is an array without maxItems",
      "/properties/big is an array with maxItems 1000, more than 100",
      "/properties/anything accepts any value; give it a type",
      "/properties/deep/properties/items/items/properties/s is a string without maxLength",
      "/properties/union/anyOf/0 is a string without maxLength",
      "/properties/a~1b is a string without maxLength",
    ]);
  });

  it("follows $ref to shared schemas and refuses one it cannot follow", () => {
    const shared = { Name: Type.String() } as Record<string, unknown>;
    expect(requestSchemaViolations(Type.Object({ n: Type.Ref("Name") }, { additionalProperties: false }), (ref) => shared[ref]).map((v) => v.pointer)).toEqual(["/properties/n"]);
    expect(requestSchemaViolations({ $ref: "Missing#" })[0]!.problem).toMatch(/not a shared schema/);
  });

  it("checks a plain JSON schema too: type lists, types implied by their keywords, tuples, patterns and conditionals", () => {
    const violations = (schema: unknown) => requestSchemaViolations(schema).map((v) => `${v.pointer} ${v.problem.split(/ \(|;/)[0]}`);
    // A type list: a nullable string is still a string.
    expect(violations({ type: ["string", "null"] })).toEqual([" is a string without maxLength"]);
    expect(violations({ type: ["string", "null"], maxLength: 10 })).toEqual([]);
    // Keywords of one type imply it when `type` is absent.
    for (const keyword of [{ properties: {} }, { patternProperties: {} }, { additionalProperties: true }, { required: [] }]) {
      expect(violations(keyword), JSON.stringify(keyword)).toEqual([" is an object without additionalProperties: false"]);
    }
    for (const keyword of [{ items: { const: 1 } }, { prefixItems: [] }]) expect(violations(keyword), JSON.stringify(keyword)).toEqual([" is an array without maxItems"]);
    expect(violations({ maxItems: 101 })).toEqual([" is an array with maxItems 101, more than 100"]);
    for (const keyword of [{ minLength: 1 }, { pattern: "^a" }, { format: "email" }]) expect(violations(keyword), JSON.stringify(keyword)).toEqual([" is a string without maxLength"]);
    expect(violations({ maxLength: 5 })).toEqual([]);
    // The schema `true` accepts anything; a non-schema value (`false` refuses everything) has nothing to bound.
    expect(violations({ type: "object", additionalProperties: false, properties: { any: true, none: false } })).toEqual(["/properties/any accepts any value"]);
    expect(
      violations({
        type: "array",
        maxItems: 3,
        items: [{ type: "string" }, { enum: ["a"] }],
        prefixItems: [{ const: 1 }, { type: "array" }],
        additionalItems: { type: "object", patternProperties: { "^x/": { type: "string" } } },
        if: { const: 1 },
        then: { type: "string" },
        else: { type: "integer" },
      }),
    ).toEqual([
      "/items/0 is a string without maxLength",
      "/prefixItems/1 is an array without maxItems",
      "/additionalItems is an object without additionalProperties: false",
      "/additionalItems/patternProperties/^x~1 is a string without maxLength",
      "/then is a string without maxLength",
    ]);
  });

  it("checks a recursive shared schema once", () => {
    const tree: Record<string, unknown> = { type: "object", additionalProperties: false, properties: { label: { type: "string" }, children: { type: "array", maxItems: 10, items: { $ref: "Tree" } } } };
    const lookups: string[] = [];
    const found = requestSchemaViolations({ $ref: "Tree" }, (ref) => {
      lookups.push(ref);
      return ref === "Tree" ? tree : undefined;
    });
    expect(found).toEqual([{ pointer: "/properties/label", problem: "is a string without maxLength (use 500 where the field has no natural limit)" }]);
    expect(lookups).toEqual(["Tree", "Tree"]);
  });
});

describe("route registration", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp("embedded");
  });
  afterAll(() => t.close());

  const refused = (register: Parameters<typeof buildApp>[1]) => buildApp(t.runtime, register);

  it("builds the real app: every existing product route follows the rules", () => {
    // createTestApp built it, so the check ran on each of these (and every other) product route.
    const routes = [
      ["POST", "/v1/auth/register"],
      ["POST", "/v1/api-keys"],
      ["PATCH", "/v1/me"],
      ["GET", "/v1/admin/users"],
      ["PUT", "/v1/admin/users/:id/roles"],
      ["GET", "/health/ready"],
      ["GET", "/.well-known/jwks.json"],
    ] as const;
    for (const [method, url] of routes) expect(t.app.hasRoute({ method, url }), `${method} ${url}`).toBe(true);
  });

  it("refuses an object body without additionalProperties: false", async () => {
    await expect(
      refused({ configure: (app) => app.post("/v1/open", { schema: { body: Type.Object({ name }), response: Reply } }, async () => ({})) }),
    ).rejects.toThrow("route POST /v1/open: body is an object without additionalProperties: false");
  });

  it("refuses a string without maxLength, in the query", async () => {
    await expect(
      refused({ configure: (app) => app.get("/v1/search", { schema: { querystring: Type.Object({ q: Type.String() }, { additionalProperties: false }), response: Reply } }, async () => ({})) }),
    ).rejects.toThrow("route GET /v1/search: querystring#/properties/q is a string without maxLength (use 500 where the field has no natural limit)");
  });

  it("refuses an array without maxItems or with more than 100", async () => {
    await expect(
      refused({ configure: (app) => app.put("/v1/tags", { schema: { body: Type.Object({ tags: Type.Array(name) }, { additionalProperties: false }), response: Reply } }, async () => ({})) }),
    ).rejects.toThrow("route PUT /v1/tags: body#/properties/tags is an array without maxItems");
    await expect(
      refused({ configure: (app) => app.put("/v1/tags", { schema: { body: Type.Object({ tags: Type.Array(name, { maxItems: 101 }) }, { additionalProperties: false }), response: Reply } }, async () => ({})) }),
    ).rejects.toThrow("route PUT /v1/tags: body#/properties/tags is an array with maxItems 101, more than 100");
  });

  it("refuses path params that are not bounded", async () => {
    await expect(
      refused({ configure: (app) => app.get("/v1/things/:id", { schema: { params: Type.Object({ id: Type.String() }, { additionalProperties: false }), response: Reply } }, async () => ({})) }),
    ).rejects.toThrow("route GET /v1/things/:id: params#/properties/id is a string without maxLength");
  });

  it("refuses a body that accepts anything, unless the route declares a raw body it authenticates itself", async () => {
    await expect(
      refused({ configure: (app) => app.post("/v1/any", { schema: { body: Type.Unknown(), response: Reply } }, async () => ({})) }),
    ).rejects.toThrow("route POST /v1/any: body accepts any value; give it a type");
    const app = await refused({ configure: (a) => a.post("/v1/hook", { config: { rawBody: true }, schema: { body: Type.Unknown(), response: Reply } }, async () => ({})) });
    await app.close();
  });

  it("follows $ref to a schema added with addSchema", async () => {
    await expect(
      refused({
        configure: (app) => {
          app.addSchema({ $id: "LooseName", type: "string" });
          app.post("/v1/named", { schema: { body: Type.Object({ n: Type.Ref("LooseName") }, { additionalProperties: false }), response: Reply } }, async () => ({}));
        },
      }),
    ).rejects.toThrow("route POST /v1/named: body#/properties/n is a string without maxLength");
    const app = await refused({
      configure: (a) => {
        a.addSchema({ $id: "BoundedName", type: "string", maxLength: 80 });
        a.post("/v1/named", { schema: { body: Type.Object({ n: Type.Ref("BoundedName") }, { additionalProperties: false }), response: Reply } }, async () => ({}));
      },
    });
    await app.close();
  });

  it("follows references inside the part's own schema and into a shared schema's fragment, and refuses one that leads nowhere", async () => {
    const bodyWith = (n: unknown) => ({ type: "object", additionalProperties: false, definitions: { "a/b": { type: "string" }, Id: { type: "string", maxLength: 40 } }, properties: { n } });
    const attempt = (n: unknown) =>
      refused({
        configure: (app) => {
          app.addSchema({ $id: "Shared", type: "object", additionalProperties: false, properties: { loose: { type: "string" }, tight: { type: "string", maxLength: 9 } } });
          app.post("/v1/refs", { schema: { body: bodyWith(n), response: Reply } }, async () => ({}));
        },
      });
    await expect(attempt({ $ref: "#/definitions/a~1b" })).rejects.toThrow("route POST /v1/refs: body#/properties/n is a string without maxLength");
    await expect(attempt({ $ref: "Shared#/properties/loose" })).rejects.toThrow("route POST /v1/refs: body#/properties/n is a string without maxLength");
    await expect(attempt({ $ref: "Shared#" })).rejects.toThrow("route POST /v1/refs: body#/properties/n/properties/loose is a string without maxLength");
    await expect(attempt({ $ref: "#/definitions/Id/maxLength/deeper" })).rejects.toThrow(
      "route POST /v1/refs: body#/properties/n refers to '#/definitions/Id/maxLength/deeper', which is not a shared schema the check can follow",
    );
    for (const ref of ["#/definitions/Id", "Shared#/properties/tight"]) await (await attempt({ $ref: ref })).close();
  });

  it("checks the query and a route of several methods, and leaves a HEAD-only route to its GET", async () => {
    await expect(
      refused({ configure: (app) => app.route({ method: ["POST", "PUT"], url: "/v1/both", schema: { query: { type: "object", additionalProperties: false, properties: { q: { type: "string" } } }, body: Type.Object({}, { additionalProperties: false }), response: Reply }, handler: async () => ({}) }) }),
    ).rejects.toThrow("route POST,PUT /v1/both: query#/properties/q is a string without maxLength");
    const app = await refused({ configure: (a) => a.route({ method: "HEAD", url: "/v1/probe", handler: async () => "" }) });
    expect(app.hasRoute({ method: "HEAD", url: "/v1/probe" })).toBe(true);
    await app.close();
  });

  it("leaves response schemas and non-product routes alone", async () => {
    const app = await refused({
      configure: (a) => {
        a.get("/v1/out", { schema: { response: { 200: Envelope(Type.Object({ free: Type.String(), list: Type.Array(Type.String()) })) } } }, async () => ({}));
        a.post("/internal/anything", { schema: { body: Type.Object({ s: Type.String() }) } }, async () => ({}));
      },
    });
    await app.close();
  });
});

describe.each(testModes())("bounded input on the wire (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t.close());

  it("answers 400 VALIDATION_FAILED naming the path for an unknown field, an over-long string and too many items", async () => {
    const { accessToken } = await registerAndLogin(t.app);
    const auth = { authorization: `Bearer ${accessToken}` };
    const cases = [
      { url: "/v1/me", method: "PATCH" as const, payload: { name: "x", roles: ["admin"] }, path: "body.roles", message: /not allowed/ },
      // A well-formed date-time (RFC 3339 allows any number of fraction digits), only too long.
      { url: "/v1/api-keys", method: "POST" as const, payload: { name: "k", scopes: [], expiresAt: `2030-01-01T00:00:00.${"0".repeat(60)}Z` }, path: "body.expiresAt", message: /64/ },
      { url: "/v1/api-keys", method: "POST" as const, payload: { name: "k", scopes: Array.from({ length: 65 }, () => "me:read") }, path: "body.scopes", message: /64/ },
    ];
    for (const c of cases) {
      const res = await t.app.inject({ method: c.method, url: c.url, payload: c.payload, headers: auth });
      expect(res.statusCode, c.path).toBe(400);
      const body = res.json();
      expect(body.code, c.path).toBe("VALIDATION_FAILED");
      const field = (body.details.fields as { path: string; message: string }[]).find((f) => f.path === c.path);
      expect(field?.message, c.path).toMatch(c.message);
    }
  });
});
