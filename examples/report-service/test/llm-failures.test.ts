/**
 * When the model fails: a transient error is retried, a model that stalls
 * past the deadline answers 504 LLM_TIMEOUT, and once the circuit breaker
 * opens 503 LLM_UNAVAILABLE without calling the model, until the cooldown
 * lets a trial call through. The app's codes come in Rampart's envelope, or
 * as problem+json when the client asks for it, and `report.failed` is
 * logged under the request's trace id. Failed reports cost no tokens.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/app.js";
import { as, captureLogs, signUp, startFakeLlm, type FakeLlm, useTestEnvironment } from "./support.js";

const TIMEOUT_MS = 300;
const COOLDOWN_MS = 1_000;

describe("a failing model", () => {
  let app: FastifyInstance;
  let llm: FakeLlm;
  let cleanup: () => Promise<void>;
  const logs = captureLogs();
  let user: { token: string; userId: string };

  before(async () => {
    llm = await startFakeLlm();
    cleanup = await useTestEnvironment({
      LLM_URL: llm.url,
      LLM_TIMEOUT_MS: String(TIMEOUT_MS),
      LLM_RETRIES: "1",
      // Two failed attempts in a row open the breaker: one request that times out on both of its attempts.
      LLM_BREAKER_FAILURES: "2",
      LLM_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
      LOG_LEVEL: "info",
    });
    app = await buildApp({ logDestination: logs.destination });
    user = await signUp(app, "10.3.0.1");
  });
  after(async () => {
    await app?.close();
    await llm?.close();
    await cleanup?.();
  });

  const report = (headers: Record<string, string> = {}) => as(app, user.token)({ method: "POST", url: "/v1/reports", payload: { topic: "grid storage" }, headers });
  const failedEvents = (traceId: string) => logs.lines.filter((l) => l.event === "report.failed" && l.traceId === traceId);

  test("a start without LLM_URL fails, naming it", async () => {
    const url = process.env.LLM_URL;
    delete process.env.LLM_URL;
    try {
      await assert.rejects(buildApp(), /^SettingsError: LLM_URL: expected the base URL/);
    } finally {
      process.env.LLM_URL = url;
    }
  });

  test("a 503 of the model is retried and the report still comes", async () => {
    llm.queue.push({ kind: "status", status: 503 });
    llm.behaviour = { kind: "complete", tokens: 20 };
    const calls = llm.requests.length;
    const res = await report();
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(llm.requests.length, calls + 2);
  });

  test("a model that stalls past the deadline answers 504 LLM_TIMEOUT in the envelope, after one retry", async () => {
    llm.behaviour = { kind: "stall" };
    const calls = llm.requests.length;
    const started = Date.now();
    const res = await report();
    assert.equal(res.statusCode, 504);
    assert.ok(Date.now() - started >= 2 * TIMEOUT_MS, "both attempts waited for the deadline");
    assert.equal(llm.requests.length, calls + 2);
    assert.match(String(res.headers["content-type"]), /^application\/json/);
    const body = res.json();
    assert.deepEqual(body, { success: false, code: "LLM_TIMEOUT", message: "The language model did not answer in time; try again.", traceId: String(res.headers["x-request-id"]) });
    assert.deepEqual(
      failedEvents(body.traceId).map((l) => [l.level, l.actor, l.data]),
      [["warn", { type: "user", id: user.userId }, { error: "LLM_TIMEOUT" }]],
    );
  });

  test("with the breaker open: 503 LLM_UNAVAILABLE as problem+json, without calling the model", async () => {
    const calls = llm.requests.length;
    const started = Date.now();
    const res = await report({ accept: "application/problem+json" });
    assert.ok(Date.now() - started < TIMEOUT_MS, "refused at once");
    assert.equal(llm.requests.length, calls);
    assert.equal(res.statusCode, 503);
    assert.match(String(res.headers["content-type"]), /^application\/problem\+json/);
    const problem = res.json();
    assert.equal(problem.type, "urn:rampart:error:llm_unavailable");
    assert.equal(problem.title, "LLM unavailable");
    assert.equal(problem.status, 503);
    assert.equal(problem.detail, "The language model is unavailable; try again later.");
    assert.equal(problem.code, "LLM_UNAVAILABLE");
    assert.equal(problem.traceId, res.headers["x-request-id"]);
    assert.equal(failedEvents(problem.traceId).length, 1);

    // The envelope for a client that does not ask for problem+json.
    const plain = await report();
    assert.equal(plain.statusCode, 503);
    assert.equal(plain.json().code, "LLM_UNAVAILABLE");
    assert.equal(plain.json().success, false);
  });

  test("after the cooldown a trial call goes through and closes the breaker", async () => {
    llm.behaviour = { kind: "complete", tokens: 25 };
    await sleep(COOLDOWN_MS + 100);
    const trial = await report();
    assert.equal(trial.statusCode, 201, trial.body);
    const next = await report();
    assert.equal(next.statusCode, 201, next.body);
  });

  test("failed reports cost no tokens", async () => {
    const res = await as(app, user.token)({ method: "GET", url: "/v1/me/usage" });
    const day = res.json().data.meters.find((m: { meter: string; period: string }) => m.meter === "llm.tokens" && m.period === "day");
    assert.equal(day.used, 20 + 25 + 25);
  });
});
