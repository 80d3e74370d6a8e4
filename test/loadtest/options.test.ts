/**
 * The load test's option parsers as the command uses them: percentages with
 * or without `%`, and `--budget` over the defaults (`none` drops an
 * endpoint's budget, a duration unit is read as one). The refusals, through
 * the command, are in cli.test.ts.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_P95_MS } from "../../src/loadtest/budgets.js";
import { LoadTestOptionError, parseBudgets, parsePercent } from "../../src/loadtest/options.js";

describe("parsePercent", () => {
  it("reads 0 to 100, with or without a % sign", () => {
    expect(parsePercent("--error-rate", "0")).toBe(0);
    expect(parsePercent("--error-rate", "2.5%")).toBe(2.5);
    expect(parsePercent("--error-rate", "100")).toBe(100);
  });

  it.each(["", " ", "-1", "100.1", "5%%", "abc"])("refuses %j, naming the option", (raw) => {
    expect(() => parsePercent("--error-rate", raw)).toThrow(new LoadTestOptionError(`--error-rate takes a percentage from 0 to 100, instead got '${raw}'`));
  });
});

describe("parseBudgets", () => {
  it("is the defaults without --budget", () => {
    expect(parseBudgets([])).toEqual(DEFAULT_P95_MS);
  });

  it("sets a budget in ms or with a unit, and `none` drops one, leaving the others", () => {
    const budgets = parseBudgets(["login=0.5s", " me=250 ", "refresh=75ms", "logout=none"]);
    expect(budgets).toEqual({ ...Object.fromEntries(Object.entries(DEFAULT_P95_MS).filter(([e]) => e !== "logout")), login: 500, me: 250, refresh: 75 });
    expect("logout" in budgets).toBe(false);
  });

  it("the last --budget of an endpoint wins, and `none` can be overridden again", () => {
    expect(parseBudgets(["login=100", "login=none", "login=300"]).login).toBe(300);
  });
});
