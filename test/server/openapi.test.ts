/**
 * The OpenAPI document: a valid 3.1 document of every route, complete by
 * construction (a product route without schemas fails the build), whose
 * security requirements carry the permissions each route's guard requires,
 * whose media types are the ones the server answers with, and which lists
 * the error answers of each route from how the route is protected, without
 * changing how those errors are sent.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { Type } from "@sinclair/typebox";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Permission } from "../../src/auth/permissions.js";
import { RampartError } from "../../src/errors/index.js";
import { Envelope, ok } from "../../src/server/envelope.js";
import { buildApp } from "../../src/server/app.js";
import { registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { makeAdmin } from "../helpers/identity.js";

interface Operation {
  description?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { description?: string; content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

/**
 * What each route that returns data requires, copied from the table of
 * docs/identity.md ("What a route that returns data requires"): written
 * here, not read from the code, so a guard that drifts from it fails.
 */
const IDENTITY_TABLE: Record<string, string[]> = {
  "GET /v1/me": ["me:read"],
  "GET /v1/me/consents": ["me:read"],
  "GET /v1/me/usage": ["me:read"],
  "GET /v1/auth/sessions": ["sessions:read"],
  "GET /v1/api-keys": ["api-keys:read"],
  "GET /v1/files": ["files:read"],
  "GET /v1/files/{id}": ["files:read"],
  "GET /v1/me/export": ["me:read", "sessions:read", "api-keys:read", "files:read", "me:export"],
  "GET /v1/admin/users": ["users:read"],
  "GET /v1/admin/users/{id}/export": ["users:read", "users:export"],
  "GET /v1/admin/audit": ["audit:read"],
  "GET /v1/admin/usage": ["usage:read"],
  "GET /v1/admin/webhooks": ["webhooks:read"],
  "GET /v1/admin/keys": ["keys:read"],
};

const ERROR_STATUSES = ["400", "401", "403", "429"];
const ERROR_CONTENT = {
  "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } },
  "application/problem+json": { schema: { $ref: "#/components/schemas/ProblemDocument" } },
};

const mediaType = (res: LightMyRequestResponse) => String(res.headers["content-type"]).split(";", 1)[0]!.trim();

describe("OpenAPI document and route schemas", () => {
  let t: TestApp;
  let doc: Doc;
  const op = (method: string, path: string): Operation => {
    const found = doc.paths[path]?.[method.toLowerCase()];
    if (!found) throw new Error(`the document has no ${method} ${path}`);
    return found;
  };
  /** The media types the document declares for `status` of a route. */
  const declared = (method: string, path: string, status: number) => Object.keys(op(method, path).responses[String(status)]?.content ?? {});

  beforeAll(async () => {
    t = await createTestApp("embedded", {
      // On here (the test configuration turns it off): the document lists 429 only for limited routes.
      env: { RATE_LIMIT_ENABLED: "true" },
      permissions: ["notes:read"],
      roles: { user: ["notes:read"] },
      // 403 like FORBIDDEN, and not in the document's list of codes.
      errors: { NOTE_LOCKED: { status: 403, message: "This note is locked." } },
      configure: (app) => {
        app.get(
          "/v1/notes/:id",
          {
            // This project declares no AppPermissions: an app that does writes guard("notes:read").
            preHandler: app.rampart.guard("notes:read" as Permission),
            schema: { params: Type.Object({ id: Type.String({ maxLength: 8 }) }, { additionalProperties: false }), response: { 200: Envelope(Type.Object({ id: Type.String() })) } },
          },
          async (request) => {
            const { id } = request.params as { id: string };
            if (id === "locked") throw new RampartError("NOTE_LOCKED" as never);
            return ok(request, { id });
          },
        );
        app.get("/v1/notes-status", { config: { rateLimit: false }, schema: { response: { 200: Envelope(Type.Object({ up: Type.Boolean() })) } } }, async (request) => ok(request, { up: true }));
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
    const res = await t.app.inject({ method: "GET", url: "/openapi.json" });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(() => t?.close());

  it("is a valid OpenAPI 3.1 document listing the routes", async () => {
    expect((doc as unknown as { openapi: string }).openapi).toBe("3.1.0");
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/health/live", "/health/ready", "/v1/things/{id}"]));
    expect(doc.components.schemas.ErrorEnvelope).toBeDefined();
    expect(doc.components.schemas.ProblemDocument).toBeDefined();
  });

  describe("permissions", () => {
    it.each(Object.entries(IDENTITY_TABLE))("%s requires what docs/identity.md says, as the scopes of its security requirement", (route, permissions) => {
      const [method, path] = route.split(" ") as [string, string];
      const o = op(method, path);
      expect(o.security).toHaveLength(1);
      expect(Object.keys(o.security![0]!)).toEqual(["bearer"]);
      expect([...o.security![0]!.bearer!].sort()).toEqual([...permissions].sort());
      // Said in words as well: the UI shows no scopes of an http scheme.
      for (const p of permissions) expect(o.description).toContain(`\`${p}\``);
      expect(o.description).toMatch(/Requires /);
    });

    it("an app route guarded with an app permission shows it; a route that needs only a credential has empty scopes; a public route none", () => {
      const notes = op("GET", "/v1/notes/{id}");
      expect(notes.security).toEqual([{ bearer: ["notes:read"] }]);
      expect(notes.description).toBe("Requires `notes:read`.");
      expect(op("POST", "/v1/auth/logout").security).toEqual([{ bearer: [] }]);
      expect(op("POST", "/v1/auth/logout").description).toBeUndefined();
      expect(op("POST", "/v1/auth/login").security).toBeUndefined();
      expect(op("GET", "/v1/notes-status").security).toBeUndefined();
    });

    it("keeps a route's own description before the permissions", () => {
      const create = op("POST", "/v1/api-keys");
      expect(create.security).toEqual([{ bearer: ["api-keys:write"] }]);
      expect(create.description).toMatch(/^A key with a scope ending in `:write`[\s\S]*\n\nRequires `api-keys:write`\.$/);
    });
  });

  describe("media types", () => {
    it("declares the health probes as application/health+json, the type they answer with", async () => {
      for (const path of ["/health/live", "/health/ready"]) {
        const res = await t.app.inject({ method: "GET", url: path });
        expect(mediaType(res)).toBe("application/health+json");
        expect(declared("GET", path, res.statusCode)).toEqual(["application/health+json"]);
        expect(res.json()).toMatchObject({ status: expect.stringMatching(/^(pass|warn|fail)$/), version: expect.any(String) });
      }
      expect(declared("GET", "/health/ready", 503)).toEqual(["application/health+json"]);
    });

    it("declares the exports as JSON or a zip, the types they answer with", async () => {
      const zipSchema = { type: "string", format: "binary" };
      for (const path of ["/v1/me/export", "/v1/admin/users/{id}/export"]) {
        expect(declared("GET", path, 200).sort()).toEqual(["application/json", "application/zip"]);
        expect(op("GET", path).responses["200"]!.content!["application/zip"]!.schema).toEqual(zipSchema);
      }
      const admin = await registerAndLogin(t.app);
      await makeAdmin(t.app, t.runtime, admin.userId);
      const { accessToken } = await registerAndLogin(t.app, { email: admin.email, password: admin.password });
      const answers = [
        ["/v1/me/export", "/v1/me/export"],
        ["/v1/admin/users/{id}/export", `/v1/admin/users/${admin.userId}/export`],
      ];
      for (const [path, url] of answers) {
        for (const [format, type] of [["json", "application/json"], ["zip", "application/zip"]]) {
          const res = await t.app.inject({ method: "GET", url: `${url}?format=${format}`, headers: { authorization: `Bearer ${accessToken}` } });
          expect(res.statusCode, `${url} ${format}: ${res.body.slice(0, 200)}`).toBe(200);
          expect(mediaType(res)).toBe(type);
          expect(declared("GET", path!, 200)).toContain(type);
        }
      }
    });
  });

  describe("error answers", () => {
    const errorStatuses = (method: string, path: string) => Object.keys(op(method, path).responses).filter((s) => ERROR_STATUSES.includes(s));

    it("lists the errors each route can answer from how it is protected: 400 with inputs, 401 when guarded, 403 with permissions, 429 when rate limited", () => {
      expect(errorStatuses("GET", "/v1/admin/users")).toEqual(["400", "401", "403", "429"]);
      expect(errorStatuses("GET", "/v1/api-keys")).toEqual(["401", "403", "429"]);
      expect(errorStatuses("POST", "/v1/auth/logout")).toEqual(["401", "429"]);
      expect(errorStatuses("POST", "/v1/auth/login")).toEqual(["400", "429"]);
      expect(errorStatuses("GET", "/.well-known/jwks.json")).toEqual(["429"]);
      // The probes are never rate limited, and take no input.
      expect(errorStatuses("GET", "/health/live")).toEqual([]);
      expect(errorStatuses("GET", "/v1/notes/{id}")).toEqual(["400", "401", "403", "429"]);
      expect(errorStatuses("GET", "/v1/notes-status")).toEqual([]);
      expect(op("GET", "/v1/notes/{id}").responses["403"]!.description).toContain("`notes:read`");
      for (const status of ["400", "401", "403", "429"]) expect(op("GET", "/v1/admin/users").responses[status]!.content).toEqual(ERROR_CONTENT);
    });

    it("lists no 429 when the app turns rate limiting off", async () => {
      const app = await buildApp(t.runtime, { rateLimiting: false });
      try {
        await app.ready();
        const unlimited = (await app.inject({ method: "GET", url: "/openapi.json" })).json() as Doc;
        expect(Object.keys(unlimited.paths["/v1/admin/users"]!.get!.responses)).toEqual(["200", "400", "401", "403"]);
      } finally {
        await app.close();
      }
    });

    it("sends errors as before: the envelope or problem+json, with any code (an app's too), in a media type the document declares", async () => {
      const unauthenticated = await t.app.inject({ method: "GET", url: "/v1/admin/users" });
      expect(unauthenticated.statusCode).toBe(401);
      expect(declared("GET", "/v1/admin/users", 401)).toContain(mediaType(unauthenticated));
      expect(unauthenticated.json()).toEqual({ success: false, code: "UNAUTHENTICATED", message: "Authentication is required.", traceId: unauthenticated.headers["x-request-id"] });

      const problem = await t.app.inject({ method: "GET", url: "/v1/admin/users", headers: { accept: "application/problem+json" } });
      expect(problem.statusCode).toBe(401);
      expect(declared("GET", "/v1/admin/users", 401)).toContain(mediaType(problem));
      expect(problem.json()).toEqual({
        type: "urn:rampart:error:unauthenticated",
        title: "Unauthenticated",
        status: 401,
        detail: "Authentication is required.",
        instance: "/v1/admin/users",
        code: "UNAUTHENTICATED",
        traceId: problem.headers["x-request-id"],
      });

      const { accessToken } = await registerAndLogin(t.app);
      const auth = { authorization: `Bearer ${accessToken}` };
      const forbidden = await t.app.inject({ method: "GET", url: "/v1/admin/users", headers: auth });
      expect(forbidden.statusCode).toBe(403);
      expect(forbidden.json()).toEqual({ success: false, code: "FORBIDDEN", message: "You do not have permission to do this.", traceId: forbidden.headers["x-request-id"] });

      const invalid = await t.app.inject({ method: "GET", url: "/v1/notes/too-long-an-id", headers: auth });
      expect(invalid.statusCode).toBe(400);
      expect(declared("GET", "/v1/notes/{id}", 400)).toContain(mediaType(invalid));
      expect(invalid.json()).toMatchObject({ success: false, code: "VALIDATION_FAILED", details: { fields: [{ path: "params.id", message: expect.any(String) }] }, traceId: invalid.headers["x-request-id"] });

      // An app code the document's list of codes lacks, at a status the document describes with it:
      // serialized with that schema, it would fail or lose its code.
      const locked = await t.app.inject({ method: "GET", url: "/v1/notes/locked", headers: auth });
      expect(locked.statusCode).toBe(403);
      expect(locked.json()).toEqual({ success: false, code: "NOTE_LOCKED", message: "This note is locked.", traceId: locked.headers["x-request-id"] });
      const lockedProblem = await t.app.inject({ method: "GET", url: "/v1/notes/locked", headers: { ...auth, accept: "application/problem+json" } });
      expect(mediaType(lockedProblem)).toBe("application/problem+json");
      expect(lockedProblem.json()).toEqual({
        type: "urn:rampart:error:note_locked",
        title: "Note locked",
        status: 403,
        detail: "This note is locked.",
        instance: "/v1/notes/locked",
        code: "NOTE_LOCKED",
        traceId: lockedProblem.headers["x-request-id"],
      });
    });
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
