/** RAMPART_PLANS and RAMPART_DEFAULT_PLAN: strict parsing at boot, one-line errors naming the variable. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/index.js";
import { DEFAULT_PLANS_JSON, parsePlans, windowOf, windowTag } from "../../src/quotas/index.js";

describe("RAMPART_PLANS", () => {
  it("parses the documented shape; a meter a plan omits is unlimited", () => {
    const plans = parsePlans('{"free":{"api.requests":{"day":10000},"files.bytes":{"month":104857600}},"pro":{"api.requests":{"day":100000,"month":2000000}},"unmetered":{}}');
    expect(plans.free).toEqual({ "api.requests": { day: 10000 }, "files.bytes": { month: 104857600 } });
    expect(plans.pro!["files.bytes"]).toBeUndefined();
    expect(plans.unmetered).toEqual({});
  });

  it("is the default free plan when unset, and prints as JSON in `rampart config`", () => {
    const config = loadConfig({});
    expect(config.plans).toEqual(JSON.parse(DEFAULT_PLANS_JSON));
    expect(config.defaultPlan).toBe("free");
    expect(String(config.plans)).toBe(DEFAULT_PLANS_JSON);
  });

  it.each([
    ["not json", "not valid JSON"],
    ["[]", "at least one plan"],
    ["{}", "at least one plan"],
    ['{"Free":{}}', "plan name 'Free'"],
    ['{"free":{"API.calls":{"day":1}}}', "free.API.calls: a meter name is dotted lower-case words"],
    ['{"free":{"llm..tokens":{"day":1}}}', "free.llm..tokens: a meter name"],
    ['{"free":{"api.requests":{"week":1}}}', "free.api.requests.week: unknown period"],
    ['{"free":{"api.requests":{"day":-1}}}', "free.api.requests.day"],
    ['{"free":{"api.requests":{"day":1.5}}}', "free.api.requests.day"],
    ['{"free":{"api.requests":{"day":"10"}}}', "free.api.requests.day"],
    ['{"free":{"api.requests":10}}', "free.api.requests"],
  ])("refuses %s, naming where", (raw, where) => {
    let err: unknown;
    try {
      loadConfig({ RAMPART_PLANS: raw });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^RAMPART_PLANS: expected JSON/);
    expect((err as ConfigError).message).toContain(where);
  });

  it("parses a well-formed meter name it does not know yet: whether it exists is checked at start (test/quotas/app-meters.test.ts)", () => {
    expect(loadConfig({ RAMPART_PLANS: '{"free":{"llm.tokens":{"day":100}}}' }).plans.free).toEqual({ "llm.tokens": { day: 100 } });
  });

  it("refuses a malformed RAMPART_DEFAULT_PLAN", () => {
    expect(() => loadConfig({ RAMPART_DEFAULT_PLAN: "No Plan" })).toThrow(/^RAMPART_DEFAULT_PLAN: expected a plan name/);
  });
});

describe("UTC periods", () => {
  it("days and months start at 00:00 UTC and the month rolls over the year", () => {
    const at = Date.UTC(2026, 11, 31, 23, 59, 59, 999);
    expect(windowOf("day", at)).toEqual({ period: "day", start: Date.UTC(2026, 11, 31), end: Date.UTC(2027, 0, 1) });
    expect(windowOf("month", at)).toEqual({ period: "month", start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) });
    expect(windowTag(windowOf("day", at))).toBe("d20261231");
    expect(windowTag(windowOf("month", at))).toBe("m202612");
    expect(windowOf("month", Date.UTC(2028, 1, 29, 12)).end).toBe(Date.UTC(2028, 2, 1));
  });
});
