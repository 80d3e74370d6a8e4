import { Validator } from "@seriousme/openapi-schema-validator";
import { Type } from "@sinclair/typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Envelope, ok } from "../../src/server/envelope.js";
import { buildApp } from "../../src/server/app.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

describe("OpenAPI document and route schemas", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp("embedded", {
      configure: (app) => {
        app.post(
          "/v1/things/:id",
          {
            schema: {
              params: Type.Object({ id: Type.String({ maxLength: 40 }) }, { additionalProperties: false }),
              body: Type.Object({ name: Type.String({ maxLength: 100 }) }, { additionalProperties: false }),
              response: { 200: Envelope(Type.Object({ id: Type.String(), name: Type.String() })) },
            },
          },
          async (request) => ok(request, { id: (request.params as { id: string }).id, name: (request.body as { name: string }).name }),
        );
      },
    });
  });
  afterAll(() => t.close());

  it("is a valid OpenAPI 3.1 document listing the routes", async () => {
    const res = await t.app.inject({ method: "GET", url: "/openapi.json" });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe("3.1.0");
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/health/live", "/health/ready", "/v1/things/{id}"]));
    expect(doc.components.schemas.ErrorEnvelope).toBeDefined();
  });

  it("refuses a product route without a response schema", async () => {
    await expect(
      buildApp(t.runtime, {
        configure: (app) => {
          app.get("/v1/unschematized", async () => ({}));
        },
      }),
    ).rejects.toThrow("route GET /v1/unschematized has no response schema");
  });

  it("refuses a product route that takes a body or params without their schemas", async () => {
    await expect(
      buildApp(t.runtime, {
        configure: (app) => {
          app.post("/v1/nobody", { schema: { response: { 200: Type.Object({}) } } }, async () => ({}));
        },
      }),
    ).rejects.toThrow("has no body schema");
    await expect(
      buildApp(t.runtime, {
        configure: (app) => {
          app.get("/v1/items/:id", { schema: { response: { 200: Type.Object({}) } } }, async () => ({}));
        },
      }),
    ).rejects.toThrow("has path parameters but no params schema");
  });

  it("serves a reference UI at /docs", async () => {
    const res = await t.app.inject({ method: "GET", url: "/docs/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/text\/html/);
  });
});
