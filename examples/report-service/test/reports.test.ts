/**
 * Generating, storing and reading reports: the completion of the upstream
 * model stored in the app's own table, the owner-only reads, and the
 * `report.generated` event in the log under the request's trace id.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/app.js";
import { as, captureLogs, signUp, startFakeLlm, useTestEnvironment, type FakeLlm } from "./support.js";

const API_KEY = "sk-test-4f1c2a9e7b3d4c5e8a6f0b1d2c3e4f5a";

describe("reports", () => {
  let app: FastifyInstance;
  let llm: FakeLlm;
  let cleanup: () => Promise<void>;
  const logs = captureLogs();
  let ada: { token: string; userId: string };
  let bob: { token: string; userId: string };

  before(async () => {
    llm = await startFakeLlm(API_KEY);
    // Info level: the security events this file looks for are info lines (the runner's default is warn).
    cleanup = await useTestEnvironment({ LLM_URL: llm.url, LLM_MODEL: "fake-model-1", LOG_LEVEL: "info", RAMPART_SECRET_LLM_API_KEY: API_KEY });
    app = await buildApp({ logDestination: logs.destination });
    ada = await signUp(app, "10.1.0.1");
    bob = await signUp(app, "10.1.0.2");
  });
  after(async () => {
    await app?.close();
    await llm?.close();
    await cleanup?.();
  });

  test("POST /v1/reports asks the model with the API key and stores its completion with the tokens it reported", async () => {
    llm.behaviour = { kind: "complete", tokens: 57 };
    const res = await as(app, ada.token)({ method: "POST", url: "/v1/reports", payload: { topic: "solar panels on schools" } });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.equal(body.success, true);
    assert.equal(body.traceId, res.headers["x-request-id"]);
    assert.equal(body.data.topic, "solar panels on schools");
    assert.equal(body.data.body, "# Report\n\nWrite a report on: solar panels on schools: all is well.");
    assert.equal(body.data.tokens, 57);
    assert.equal(body.data.model, "fake-model-1");

    const sent = llm.requests.at(-1)!;
    assert.equal(sent.authorization, `Bearer ${API_KEY}`);
    assert.equal(sent.body.model, "fake-model-1");
    assert.equal(sent.body.messages.at(-1)?.content, "Write a report on: solar panels on schools");

    const read = await as(app, ada.token)({ method: "GET", url: `/v1/reports/${body.data.id}` });
    assert.equal(read.statusCode, 200);
    assert.deepEqual(read.json().data, body.data);
  });

  test("report.generated is logged with the trace id of the request that generated it, and the API key never is", async () => {
    llm.behaviour = { kind: "complete", tokens: 31 };
    const res = await as(app, ada.token)({ method: "POST", url: "/v1/reports", payload: { topic: "bike lanes" } });
    assert.equal(res.statusCode, 201, res.body);
    const { traceId, data } = res.json();
    const events = logs.lines.filter((l) => l.event === "report.generated" && l.traceId === traceId);
    assert.equal(events.length, 1, `no report.generated line with traceId ${traceId}`);
    assert.deepEqual(
      { actor: events[0]!.actor, target: events[0]!.target, data: events[0]!.data },
      { actor: { type: "user", id: ada.userId }, target: `report:${data.id}`, data: { tokens: 31, model: "fake-model-1" } },
    );
    assert.equal(logs.text().includes(API_KEY), false);

    // Audited: the tamper-evident log holds the same event, under the same trace id.
    const { entries } = await app.rampart.runtime.audit.query({ action: "report.generated", target: `report:${data.id}`, limit: 10 });
    assert.deepEqual(
      entries.map((e) => [e.actor, e.traceId, e.data]),
      [[{ type: "user", id: ada.userId }, traceId, { tokens: 31, model: "fake-model-1" }]],
    );
  });

  test("a trace id sent by the client is the one the answer and the event carry", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const res = await as(app, ada.token)({
      method: "POST",
      url: "/v1/reports",
      payload: { topic: "heat pumps" },
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().traceId, traceId);
    assert.equal(res.headers["x-request-id"], traceId);
    assert.equal(logs.lines.filter((l) => l.event === "report.generated" && l.traceId === traceId).length, 1);
  });

  test("reports are listed to their owner only; another user's report is 404", async () => {
    const mine = await as(app, ada.token)({ method: "GET", url: "/v1/reports" });
    assert.equal(mine.statusCode, 200);
    const topics = mine.json().data.reports.map((r: { topic: string }) => r.topic);
    assert.deepEqual(topics, ["heat pumps", "bike lanes", "solar panels on schools"]);

    const theirs = await as(app, bob.token)({ method: "GET", url: "/v1/reports" });
    assert.deepEqual(theirs.json().data.reports, []);

    const id = mine.json().data.reports[0].id;
    const other = await as(app, bob.token)({ method: "GET", url: `/v1/reports/${id}` });
    assert.equal(other.statusCode, 404);
    assert.equal(other.json().code, "NOT_FOUND");
    assert.equal(other.json().traceId, other.headers["x-request-id"]);
    // The same answer as an id that never existed.
    const none = await as(app, bob.token)({ method: "GET", url: "/v1/reports/00000000-0000-0000-0000-000000000000" });
    assert.equal(none.statusCode, 404);
    assert.equal(none.json().message, other.json().message);
  });

  test("the routes need a credential and a valid body", async () => {
    const anonymous = await app.inject({ method: "POST", url: "/v1/reports", payload: { topic: "anything" } });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().code, "UNAUTHENTICATED");

    const calls = llm.requests.length;
    const invalid = await as(app, ada.token)({ method: "POST", url: "/v1/reports", payload: { topic: "x".repeat(301), model: "gpt-5" } });
    assert.equal(invalid.statusCode, 400);
    assert.equal(invalid.json().code, "VALIDATION_FAILED");
    assert.deepEqual(invalid.json().details.fields.map((f: { path: string }) => f.path).sort(), ["body.model", "body.topic"]);
    assert.equal(llm.requests.length, calls, "an invalid request never reaches the model");
  });

  test("a model that refuses the request (401: a wrong key) answers 502 LLM_FAILED, tried once", async () => {
    llm.queue.push({ kind: "status", status: 401 });
    const calls = llm.requests.length;
    const res = await as(app, ada.token)({ method: "POST", url: "/v1/reports", payload: { topic: "tidal power" } });
    assert.equal(res.statusCode, 502);
    assert.equal(res.json().code, "LLM_FAILED");
    assert.equal(res.json().message, "The language model could not produce this report.");
    assert.equal(llm.requests.length, calls + 1, "a refusal is an answer: no retry");
    const failed = logs.lines.filter((l) => l.event === "report.failed" && l.traceId === res.json().traceId);
    assert.deepEqual(failed.map((l) => [l.level, l.data]), [["warn", { error: "LLM_FAILED" }]]);
  });
});
