/**
 * The `llm.tokens` meter: charged with the tokens the model reports, warned
 * from 80 % with the header every Rampart meter uses, refused past the
 * plan's limit (and before calling the model once nothing is left), with
 * the `quota.warning` / `quota.exceeded` events of a built-in meter, listed
 * by `GET /v1/me/usage`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/app.js";
import { as, captureLogs, signUp, startFakeLlm, useTestEnvironment, type FakeLlm } from "./support.js";

const PLANS = JSON.stringify({ free: { "api.requests": { day: 10_000 }, "llm.tokens": { day: 100 } } });

describe("the llm.tokens quota", () => {
  let app: FastifyInstance;
  let llm: FakeLlm;
  let cleanup: () => Promise<void>;
  let user: { token: string; userId: string };
  const logs = captureLogs();

  before(async () => {
    llm = await startFakeLlm();
    cleanup = await useTestEnvironment({ LLM_URL: llm.url, RAMPART_PLANS: PLANS, LLM_MAX_TOKENS: "64", LOG_LEVEL: "info" });
    app = await buildApp({ logDestination: logs.destination });
    user = await signUp(app, "10.2.0.1");
  });
  after(async () => {
    await app?.close();
    await llm?.close();
    await cleanup?.();
  });

  const report = (tokens: number) => {
    llm.behaviour = { kind: "complete", tokens };
    return as(app, user.token)({ method: "POST", url: "/v1/reports", payload: { topic: `a report of ${tokens} tokens` } });
  };
  const dayUsage = async () => {
    const res = await as(app, user.token)({ method: "GET", url: "/v1/me/usage" });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().data.meters.find((m: { meter: string; period: string }) => m.meter === "llm.tokens" && m.period === "day");
  };
  const midnight = () => {
    const d = new Date();
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)).toISOString();
  };

  test("charges the reported tokens, warns from 80 %, refuses past the limit, and stops calling the model at the limit", async () => {
    const first = await report(50);
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers["x-quota-warning"], undefined);
    assert.equal(llm.requests.at(-1)?.body.max_tokens, 64, "LLM_MAX_TOKENS bounds max_tokens while the allowance is larger");

    const warned = await report(35);
    assert.equal(warned.statusCode, 201, warned.body);
    assert.equal(warned.headers["x-quota-warning"], `"llm.tokens";period="day";used=85;limit=100;reset="${midnight()}"`);
    assert.equal(llm.requests.at(-1)?.body.max_tokens, 50, "max_tokens is the allowance left when it is smaller");

    // 85 + 30 would pass 100: refused, nothing counted, nothing stored.
    const refused = await report(30);
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().code, "QUOTA_EXCEEDED");
    assert.deepEqual(refused.json().details, { meter: "llm.tokens", period: "day", used: 85, limit: 100, requested: 30, resetsAt: midnight() });
    assert.ok(Number(refused.headers["retry-after"]) > 0);
    assert.equal(refused.json().traceId, refused.headers["x-request-id"]);

    const last = await report(15);
    assert.equal(last.statusCode, 201, last.body);
    assert.equal(last.headers["x-quota-warning"], `"llm.tokens";period="day";used=100;limit=100;reset="${midnight()}"`);

    // Nothing left: refused before the model is asked.
    const calls = llm.requests.length;
    const exhausted = await report(1);
    assert.equal(exhausted.statusCode, 429);
    assert.equal(exhausted.json().code, "QUOTA_EXCEEDED");
    assert.deepEqual(exhausted.json().details, { meter: "llm.tokens", period: "day", used: 100, limit: 100, requested: 1, resetsAt: midnight() });
    assert.equal(llm.requests.length, calls);

    // The events of a built-in meter, once per user, meter and period.
    const quotaEvents = logs.lines
      .filter((l) => typeof l.event === "string" && l.event.startsWith("quota.") && l.target === `user:${user.userId}`)
      .map((l) => {
        const { meter, period, limit } = l.data as { meter: string; period: string; limit: number };
        return [l.event, meter, period, limit, l.traceId];
      });
    assert.deepEqual(quotaEvents, [
      ["quota.warning", "llm.tokens", "day", 100, warned.json().traceId],
      ["quota.exceeded", "llm.tokens", "day", 100, refused.json().traceId],
    ]);

    const list = await as(app, user.token)({ method: "GET", url: "/v1/reports" });
    assert.deepEqual(
      list.json().data.reports.map((r: { tokens: number }) => r.tokens),
      [15, 35, 50],
    );
  });

  test("GET /v1/me/usage lists the meter for both periods", async () => {
    assert.deepEqual(await dayUsage(), { meter: "llm.tokens", period: "day", used: 100, limit: 100, resetsAt: midnight() });
    const res = await as(app, user.token)({ method: "GET", url: "/v1/me/usage" });
    const month = res.json().data.meters.find((m: { meter: string; period: string }) => m.meter === "llm.tokens" && m.period === "month");
    assert.equal(month.used, 100);
    assert.equal(month.limit, null, "the plan limits the day only");
  });
});
