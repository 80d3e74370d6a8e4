/** Scenario shapes schedule exactly the integral of their rate, and journeys follow the mix exactly. */
import { describe, expect, it } from "vitest";
import { defaultTestData, requestsPerJourney } from "../../src/loadtest/run.js";
import { JOURNEYS, MixPicker, SCENARIOS, scenarios, type JourneyName } from "../../src/loadtest/scenarios.js";
import { arrivalTimes, expectedArrivals, peakRate, phasesOf } from "../../src/loadtest/shape.js";

const all = (it: Iterable<number>) => [...it];

describe("scenario shapes", () => {
  it("baseline at 50/s for 60 s: 3000 arrivals, 20 ms apart, the first at 0", () => {
    const times = all(arrivalTimes(scenarios.baseline.shape(50, 60_000)));
    expect(times).toHaveLength(3000);
    expect(times[0]).toBe(0);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeCloseTo(20, 9);
  });

  it("ramp from 0 to 40/s over 10 s: 200 arrivals, the k-th where the area under the rate reaches k", () => {
    const shape = scenarios.ramp.shape(40, 10_000);
    const times = all(arrivalTimes(shape));
    expect(times).toHaveLength(200);
    // Rate r(t) = 4 t/s², so the area by t seconds is 2 t²: arrival k at √(k/2) s.
    times.forEach((t, k) => expect(t).toBeCloseTo(Math.sqrt(k / 2) * 1000, 6));
    expect(peakRate(shape)).toBe(40);
  });

  it("stress steps up in five equal steps to the rate", () => {
    const shape = scenarios.stress.shape(50, 100_000);
    expect(shape.segments.map((s) => s.from)).toEqual([10, 20, 30, 40, 50]);
    expect(phasesOf(shape).map((p) => [p.startMs, p.endMs])).toEqual([
      [0, 20_000],
      [20_000, 40_000],
      [40_000, 60_000],
      [60_000, 80_000],
      [80_000, 100_000],
    ]);
    const times = all(arrivalTimes(shape));
    expect(times).toHaveLength(200 + 400 + 600 + 800 + 1000);
    // Per step, exactly rate × length arrivals.
    const inStep = (from: number, to: number) => times.filter((t) => t >= from && t < to).length;
    expect([0, 1, 2, 3, 4].map((i) => inStep(i * 20_000, (i + 1) * 20_000))).toEqual([200, 400, 600, 800, 1000]);
  });

  it("spike: a fifth of the rate, the full rate for the middle fifth, a fifth again", () => {
    const shape = scenarios.spike.shape(100, 50_000);
    const times = all(arrivalTimes(shape));
    const inWindow = (from: number, to: number) => times.filter((t) => t >= from && t < to).length;
    expect(inWindow(0, 20_000)).toBe(400);
    expect(inWindow(20_000, 30_000)).toBe(1000);
    expect(inWindow(30_000, 50_000)).toBe(400);
    expect(expectedArrivals(shape)).toBe(1800);
  });

  it("soak is a long constant rate by default", () => {
    expect(scenarios.soak.defaultDurationMs).toBe(30 * 60_000);
    expect(expectedArrivals(scenarios.soak.shape(10, scenarios.soak.defaultDurationMs))).toBe(18_000);
  });

  it("every scenario's expected arrivals equal what its generator yields", () => {
    for (const name of SCENARIOS) {
      const shape = scenarios[name].shape(37, 12_345);
      expect(all(arrivalTimes(shape)).length, name).toBe(expectedArrivals(shape));
    }
  });
});

describe("journey mix", () => {
  it("follows the weights exactly over every full cycle and stays within one of them in between", () => {
    for (const name of SCENARIOS) {
      const mix = scenarios[name].mix;
      const total = JOURNEYS.reduce((s, j) => s + mix[j], 0);
      const picker = new MixPicker(mix);
      const seen: Record<string, number> = {};
      for (let n = 1; n <= total * 3; n++) {
        const j = picker.next();
        seen[j] = (seen[j] ?? 0) + 1;
        for (const k of JOURNEYS) expect(Math.abs((seen[k] ?? 0) - (mix[k] * n) / total), `${name} ${k} at ${n}`).toBeLessThan(1);
      }
      for (const k of JOURNEYS) expect(seen[k] ?? 0).toBe(mix[k] * 3);
    }
  });

  it("sizes the offered request rate and the test data from the mix", () => {
    const mix: Record<JourneyName, number> = { "new-user": 1, "returning-user": 1, "wrong-password": 0, "api-key": 2 };
    // (7 + 7 + 2 × 3) / 4 requests per journey.
    expect(requestsPerJourney(mix)).toBe(5);
    // Login journeys are a quarter of 40/s, over 8 s: 80 accounts; api-key journeys half of 40/s: 20 keys.
    expect(defaultTestData(mix, 40)).toEqual({ accounts: 80, apiKeys: 20 });
    expect(defaultTestData({ ...mix, "api-key": 0 }, 1)).toEqual({ accounts: 10, apiKeys: 0 });
  });
});
