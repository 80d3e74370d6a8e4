/**
 * The app's own error codes: validated into the app's catalogue next to
 * Rampart's, answered with their status and message in the envelope and in
 * problem+json, and a code nobody registered answered as a generic 500 with
 * a log line naming it.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtInErrors, createErrorCatalogue, errorCatalogue, errorCodes, RampartError } from "../../src/errors/index.js";
import { errorsPlugin, mapError } from "../../src/server/plugins/errors.js";
import { rampart, type Runtime } from "../../src/index.js";
import type { LogCapture } from "../helpers/logs.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

const APP_ERRORS = {
  NOTE_LOCKED: { status: 409, message: "This note is locked." },
  UPSTREAM_LLM_FAILED: { status: 502, message: "The report generator failed.", title: "Report generator failed", type: "https://example.com/problems/llm" },
};

// The app's codes are not in this project's AppErrorCodes: cast, as an app that declared them would not need to.
const appError = (code: string, options?: ConstructorParameters<typeof RampartError>[1]) => new RampartError(code as never, options);

describe("createErrorCatalogue", () => {
  const catalogue = createErrorCatalogue(APP_ERRORS);

  it("holds Rampart's codes unchanged and the app's with a title and a problem type", () => {
    for (const code of errorCodes) expect(catalogue.entry(code)).toMatchObject(errorCatalogue[code]);
    expect(catalogue.entry("NOTE_LOCKED")).toEqual({ status: 409, message: "This note is locked.", title: "Note locked", type: "urn:rampart:error:note_locked" });
    expect(catalogue.entry("UPSTREAM_LLM_FAILED")).toMatchObject({ title: "Report generator failed", type: "https://example.com/problems/llm" });
    expect(catalogue.codes()).toEqual([...errorCodes, "NOTE_LOCKED", "UPSTREAM_LLM_FAILED"]);
    expect(builtInErrors.has("NOTE_LOCKED")).toBe(false);
  });

  it.each([
    [{ note_locked: { status: 409, message: "x" } }, "'note_locked' is not an error code"],
    [{ FORBIDDEN: { status: 403, message: "x" } }, "'FORBIDDEN' is a built-in error code"],
    [{ NOTE_LOCKED: { status: 200, message: "x" } }, "errors.NOTE_LOCKED.status: expected an integer from 400 to 599, instead got '200'"],
    [{ NOTE_LOCKED: { status: 600, message: "x" } }, "instead got '600'"],
    [{ NOTE_LOCKED: { status: 409, message: "" } }, "errors.NOTE_LOCKED.message: expected a non-empty string"],
    [{ NOTE_LOCKED: { status: 409, message: "x", type: "not a uri" } }, "errors.NOTE_LOCKED.type: expected a URI"],
  ])("refuses %j naming the code", (errors, message) => {
    expect(() => createErrorCatalogue(errors)).toThrow(message);
  });
});

describe("mapError with the app's catalogue", () => {
  const catalogue = createErrorCatalogue(APP_ERRORS);

  it("maps an app code to its catalogue message, or the thrower's own", () => {
    expect(mapError(appError("NOTE_LOCKED"), catalogue)).toEqual({ code: "NOTE_LOCKED", message: "This note is locked." });
    expect(mapError(appError("NOTE_LOCKED", { message: "Note 7 is locked by Ada." }), catalogue)).toMatchObject({ message: "Note 7 is locked by Ada." });
  });

  it("answers a code the catalogue lacks as INTERNAL_ERROR, naming it for the log", () => {
    expect(mapError(appError("NOTE_LOCKED"))).toEqual({ code: "INTERNAL_ERROR", message: errorCatalogue.INTERNAL_ERROR.message, unknownCode: "NOTE_LOCKED" });
    expect(appError("NOTE_LOCKED").status).toBeUndefined();
    expect(new RampartError("FORBIDDEN").status).toBe(403);
  });
});

describe.each(testModes())("app error codes through the rampart plugin (%s)", (mode) => {
  let env: TestEnv;
  let runtime: Runtime;
  let logs: LogCapture;
  let app: FastifyInstance;
  beforeAll(async () => {
    env = await createTestEnv(mode);
    ({ runtime, logs } = await createTestRuntime(env));
    app = Fastify();
    await app.register(rampart, { runtime, routes: { identity: false }, errors: APP_ERRORS });
    app.get("/notes/locked", async () => {
      throw appError("NOTE_LOCKED");
    });
    app.get("/notes/locked-by", async () => {
      throw appError("NOTE_LOCKED", { message: "Note 7 is locked.", details: { noteId: "7" } });
    });
    app.get("/reports", async () => {
      throw appError("UPSTREAM_LLM_FAILED");
    });
    app.get("/notes/gone", async () => {
      throw appError("NOTE_GONE");
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await runtime.close();
    await env.cleanup();
  });

  it("answers an app code with its status and message in the envelope", async () => {
    const res = await app.inject({ method: "GET", url: "/notes/locked" });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ success: false, code: "NOTE_LOCKED", message: "This note is locked.", traceId: res.headers["x-request-id"] });
    const own = await app.inject({ method: "GET", url: "/notes/locked-by" });
    expect(own.json()).toMatchObject({ code: "NOTE_LOCKED", message: "Note 7 is locked.", details: { noteId: "7" } });
    expect(app.rampart.errors.has("NOTE_LOCKED")).toBe(true);
  });

  it("answers problem+json with the code's type, title and status", async () => {
    const res = await app.inject({ method: "GET", url: "/notes/locked", headers: { accept: "application/problem+json" } });
    expect(res.statusCode).toBe(409);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ type: "urn:rampart:error:note_locked", title: "Note locked", status: 409, detail: "This note is locked.", code: "NOTE_LOCKED", instance: "/notes/locked" });
    const custom = await app.inject({ method: "GET", url: "/reports", headers: { accept: "application/problem+json" } });
    expect(custom.statusCode).toBe(502);
    expect(custom.json()).toMatchObject({ type: "https://example.com/problems/llm", title: "Report generator failed", status: 502 });
  });

  it("answers an unregistered code as a generic 500 and logs the code by name", async () => {
    const res = await app.inject({ method: "GET", url: "/notes/gone" });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: "INTERNAL_ERROR", message: errorCatalogue.INTERNAL_ERROR.message });
    expect(res.body).not.toContain("NOTE_GONE");
    const line = logs.records().find((r) => r.errorCode === "NOTE_GONE");
    expect(line?.msg).toContain("error code 'NOTE_GONE' is not in the catalogue");
  });

  it("fails the start on an invalid app code, naming it", async () => {
    const other = Fastify();
    await expect(other.register(rampart, { runtime, routes: { identity: false }, errors: { NOTE_LOCKED: { status: 299, message: "x" } } })).rejects.toThrow(/errors\.NOTE_LOCKED\.status/);
    await other.close();
  });
});

describe("the errors plugin alone, with an app catalogue", () => {
  it("answers the app's code on a bare Fastify instance", async () => {
    const app = Fastify();
    await app.register(errorsPlugin, { catalogue: createErrorCatalogue(APP_ERRORS) });
    app.get("/", async () => {
      throw appError("NOTE_LOCKED");
    });
    const res = await app.inject({ method: "GET", url: "/" });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: "NOTE_LOCKED", message: "This note is locked." });
    await app.close();
  });
});
