import { Type } from "@sinclair/typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RampartError } from "../../src/errors/index.js";
import { currentContext } from "../../src/context/index.js";
import { ok } from "../../src/server/envelope.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

describe("error envelope and request context", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp("embedded", {
      configure: (app) => {
        app.post(
          "/test/echo",
          {
            schema: {
              body: Type.Object({ email: Type.String({ format: "email", maxLength: 200 }), age: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
            },
          },
          async (request) => ok(request, { body: request.body, traceId: currentContext()?.traceId }),
        );
        app.get("/test/boom", async () => {
          throw new Error("db password=hunter2 at 10.0.0.1");
        });
        app.get("/test/locked", async () => {
          throw new RampartError("ACCOUNT_LOCKED", { headers: { "retry-after": "900" } });
        });
        app.get("/test/q", { schema: { querystring: Type.Object({ n: Type.Integer({ maximum: 10 }) }) } }, async (request) => ok(request, request.query));
        // Errors as Fastify plugins raise them: a status code on a plain error, internal text in the message.
        app.get("/test/plugin-conflict", async () => {
          throw Object.assign(new Error("row 42 of table secret_things is locked by pid 777"), { statusCode: 409 });
        });
        app.get("/test/plugin-teapot", async () => {
          throw Object.assign(new Error("short and stout"), { statusCode: 418 });
        });
        app.get("/test/plugin-unavailable", async () => {
          throw Object.assign(new Error("upstream 10.0.0.7 refused"), { statusCode: 503 });
        });
        // A content-type parser as Fastify's docs write one: JSON.parse's SyntaxError with statusCode 400.
        app.addContentTypeParser("application/vnd.test+json", { parseAs: "string" }, (_request, body, done) => {
          try {
            done(null, JSON.parse(body as string));
          } catch (err) {
            (err as Error & { statusCode: number }).statusCode = 400;
            done(err as Error, undefined);
          }
        });
        app.post("/test/vendor", async (request) => ok(request, { got: request.body }));
        app.addHook("onRequest", async (request) => {
          if (request.headers["x-test-explode"] !== undefined) throw new Error("hook exploded");
        });
      },
    });
  });
  afterAll(() => t.close());

  it("answers an unknown route with a 404 envelope whose traceId equals x-request-id", async () => {
    const res = await t.app.inject({ method: "GET", url: "/nope" });
    expect(res.statusCode).toBe(404);
    const body = res.json();
    expect(body).toMatchObject({ success: false, code: "NOT_FOUND" });
    expect(typeof body.message).toBe("string");
    expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers["x-request-id"]).toBe(body.traceId);
  });

  it("adopts the trace-id of a well-formed traceparent", async () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const res = await t.app.inject({ method: "GET", url: "/nope", headers: { traceparent } });
    expect(res.json().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(res.headers["x-request-id"]).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  it("adopts a well-formed x-request-id and replaces a malformed one", async () => {
    const good = await t.app.inject({ method: "GET", url: "/nope", headers: { "x-request-id": "req-123.abc_DEF" } });
    expect(good.json().traceId).toBe("req-123.abc_DEF");
    for (const bad of ["has space", "x".repeat(129), "inject<script>"]) {
      const res = await t.app.inject({ method: "GET", url: "/nope", headers: { "x-request-id": bad, traceparent: bad } });
      expect(res.json().traceId).not.toBe(bad);
      expect(res.json().traceId).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it("rejects a traceparent with an all-zero trace id or version ff", async () => {
    for (const tp of ["00-00000000000000000000000000000000-00f067aa0ba902b7-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]) {
      const res = await t.app.inject({ method: "GET", url: "/nope", headers: { traceparent: tp } });
      expect(res.json().traceId).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
      expect(res.json().traceId).not.toBe("00000000000000000000000000000000");
    }
  });

  it("returns the success envelope and keeps the request context after body parsing", async () => {
    const res = await t.app.inject({ method: "POST", url: "/test/echo", payload: { email: "a@example.com", age: 3 } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.success).toBe(true);
    expect(body.data.body).toEqual({ email: "a@example.com", age: 3 });
    expect(body.data.traceId).toBe(body.traceId);
    expect(res.headers["x-request-id"]).toBe(body.traceId);
  });

  it("malformed JSON is 400 VALIDATION_FAILED", async () => {
    const res = await t.app.inject({ method: "POST", url: "/test/echo", payload: '{"email": ', headers: { "content-type": "application/json" } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ success: false, code: "VALIDATION_FAILED" });
    expect(res.json().traceId).toBe(res.headers["x-request-id"]);
  });

  it("a schema failure lists every offending field in details", async () => {
    const res = await t.app.inject({ method: "POST", url: "/test/echo", payload: { email: "not-an-email", age: "3", extra: true } });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe("VALIDATION_FAILED");
    const paths = body.details.fields.map((f: { path: string }) => f.path);
    expect(paths).toEqual(expect.arrayContaining(["body.email", "body.age", "body.extra"]));
  });

  it("a missing required field is named", async () => {
    const res = await t.app.inject({ method: "POST", url: "/test/echo", payload: { age: 1 } });
    expect(res.json().details.fields).toEqual(expect.arrayContaining([expect.objectContaining({ path: "body.email" })]));
  });

  it("query strings are coerced but still bounded", async () => {
    expect((await t.app.inject({ method: "GET", url: "/test/q?n=7" })).json().data).toEqual({ n: 7 });
    const res = await t.app.inject({ method: "GET", url: "/test/q?n=11" });
    expect(res.statusCode).toBe(400);
    expect(res.json().details.fields[0].path).toBe("querystring.n");
  });

  it("a wrong content type is 415 UNSUPPORTED_MEDIA_TYPE", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
      const res = await t.app.inject({ method: "POST", url: "/test/echo", payload: "email=a", headers: { "content-type": type } });
      expect(res.statusCode).toBe(415);
      expect(res.json().code).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
  });

  it("a body over the limit is 413 PAYLOAD_TOO_LARGE", async () => {
    const big = JSON.stringify({ email: "a@example.com", age: 1, pad: "x".repeat(1024 * 1024) });
    const res = await t.app.inject({ method: "POST", url: "/test/echo", payload: big, headers: { "content-type": "application/json" } });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("an unexpected error is a generic 500; the real error is logged with the traceId", async () => {
    const res = await t.app.inject({ method: "GET", url: "/test/boom" });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(body).toEqual({ success: false, code: "INTERNAL_ERROR", message: "An unexpected error occurred.", traceId: res.headers["x-request-id"] });
    expect(res.body).not.toContain("hunter2");
    expect(res.body).not.toContain("at ");
    const logged = t.logs.records().find((r) => r.msg === "unhandled error" && r.traceId === body.traceId);
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain("db password=hunter2");
  });

  it("a plugin's client error keeps its status as the catalogue code and message, never the plugin's text", async () => {
    const res = await t.app.inject({ method: "GET", url: "/test/plugin-conflict" });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ success: false, code: "CONFLICT", message: "The request conflicts with the current state.", traceId: res.headers["x-request-id"] });
    expect(res.body).not.toContain("secret_things");
  });

  it("a client error status the catalogue has no code for is a generic 500, logged", async () => {
    const res = await t.app.inject({ method: "GET", url: "/test/plugin-teapot" });
    expect(res.statusCode).toBe(500);
    expect(res.json().code).toBe("INTERNAL_ERROR");
    expect(t.logs.records().some((r) => r.msg === "unhandled error" && r.traceId === res.headers["x-request-id"])).toBe(true);
  });

  it("a plugin's 503 is SERVICE_UNAVAILABLE, logged as a warning with its cause", async () => {
    const res = await t.app.inject({ method: "GET", url: "/test/plugin-unavailable" });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: "SERVICE_UNAVAILABLE", message: "The service is temporarily unavailable." });
    expect(res.body).not.toContain("10.0.0.7");
    const warning = t.logs.records().find((r) => r.traceId === res.headers["x-request-id"] && r.msg === "answered SERVICE_UNAVAILABLE");
    expect(warning).toMatchObject({ level: "warn", errorCode: "SERVICE_UNAVAILABLE", err: { message: "upstream 10.0.0.7 refused" } });
  });

  it("a custom parser's JSON syntax error is 400 VALIDATION_FAILED", async () => {
    const res = await t.app.inject({ method: "POST", url: "/test/vendor", payload: '{"a":', headers: { "content-type": "application/vnd.test+json" } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "VALIDATION_FAILED", message: "The request body is not valid JSON." });
    const good = await t.app.inject({ method: "POST", url: "/test/vendor", payload: '{"a":1}', headers: { "content-type": "application/vnd.test+json" } });
    expect(good.json().data).toEqual({ got: { a: 1 } });
  });

  it("an unexpected error on a path no route matches is logged without a route", async () => {
    const res = await t.app.inject({ method: "GET", url: "/test/nowhere", headers: { "x-test-explode": "1" } });
    expect(res.statusCode).toBe(500);
    const logged = t.logs.records().find((r) => r.msg === "unhandled error" && r.traceId === res.headers["x-request-id"]);
    expect(logged).toMatchObject({ method: "GET", route: null });
  });

  it("a RampartError keeps its code, status and headers", async () => {
    const res = await t.app.inject({ method: "GET", url: "/test/locked" });
    expect(res.statusCode).toBe(423);
    expect(res.headers["retry-after"]).toBe("900");
    expect(res.json().code).toBe("ACCOUNT_LOCKED");
  });

  it("answers RFC 9457 problem+json when asked, with the same code and traceId", async () => {
    const res = await t.app.inject({ method: "GET", url: "/test/locked", headers: { accept: "application/problem+json" } });
    expect(res.statusCode).toBe(423);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body).toMatchObject({ status: 423, code: "ACCOUNT_LOCKED", type: "urn:rampart:error:account_locked", title: "Account locked", instance: "/test/locked" });
    expect(body.traceId).toBe(res.headers["x-request-id"]);
    const declined = await t.app.inject({ method: "GET", url: "/test/locked", headers: { accept: "application/problem+json;q=0, application/json" } });
    expect(declined.json().success).toBe(false);
  });

  it("writes one access line per request with method, route, status, duration and traceId", async () => {
    const res = await t.app.inject({ method: "GET", url: "/test/q?n=1&token=secret-in-query" });
    const line = t.logs.records().find((r) => r.msg === "request" && r.traceId === res.headers["x-request-id"]);
    expect(line).toMatchObject({ method: "GET", route: "/test/q", path: "/test/q", status: 200 });
    expect(typeof line!.durationMs).toBe("number");
    expect(JSON.stringify(line)).not.toContain("secret-in-query");
  });
});
