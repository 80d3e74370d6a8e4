/**
 * The load-test scenarios: each is a rate shape over the run and a mix of
 * user journeys (docs/loadtest.md describes them for operators). `rate` is
 * always the peak arrival rate of the shape, in journey starts per second.
 */
import type { Shape } from "./shape.js";

export const JOURNEYS = ["new-user", "returning-user", "wrong-password", "api-key"] as const;
export type JourneyName = (typeof JOURNEYS)[number];

export const SCENARIOS = ["baseline", "stress", "spike", "soak", "ramp"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Scenario {
  name: ScenarioName;
  summary: string;
  defaultDurationMs: number;
  /** Pause between two steps of one journey (a user reading the answer). */
  thinkMs: number;
  /** Relative weights of the journeys; arrivals follow them exactly over any window (smooth weighted round-robin). */
  mix: Record<JourneyName, number>;
  shape(rate: number, durationMs: number): Shape;
}

const MINUTE = 60_000;
const STEADY_MIX: Record<JourneyName, number> = { "new-user": 10, "returning-user": 50, "wrong-password": 10, "api-key": 30 };
const fmt = (rate: number) => `${Number(rate.toFixed(2))}/s`;

export const scenarios: Record<ScenarioName, Scenario> = {
  baseline: {
    name: "baseline",
    summary: "constant rate for the whole run",
    defaultDurationMs: MINUTE,
    thinkMs: 100,
    mix: STEADY_MIX,
    shape: (rate, durationMs) => ({ segments: [{ name: "steady", durationMs, from: rate, to: rate }] }),
  },
  ramp: {
    name: "ramp",
    summary: "rate rising linearly from 0 to the rate over the run",
    defaultDurationMs: MINUTE,
    thinkMs: 100,
    mix: STEADY_MIX,
    shape: (rate, durationMs) => ({ segments: [{ name: "ramp", durationMs, from: 0, to: rate }] }),
  },
  stress: {
    name: "stress",
    summary: "five equal steps up to the rate (1/5, 2/5, ... of it)",
    defaultDurationMs: 2 * MINUTE,
    thinkMs: 100,
    mix: STEADY_MIX,
    shape: (rate, durationMs) => ({
      segments: [1, 2, 3, 4, 5].map((i) => {
        const r = (rate * i) / 5;
        return { name: `step ${i} (${fmt(r)})`, durationMs: durationMs / 5, from: r, to: r };
      }),
    }),
  },
  spike: {
    name: "spike",
    summary: "1/5 of the rate, the full rate for the middle fifth of the run, then 1/5 again; a login storm",
    defaultDurationMs: MINUTE,
    thinkMs: 100,
    mix: { "new-user": 5, "returning-user": 65, "wrong-password": 15, "api-key": 15 },
    shape: (rate, durationMs) => ({
      segments: [
        { name: "before spike", durationMs: durationMs * 0.4, from: rate / 5, to: rate / 5 },
        { name: "spike", durationMs: durationMs * 0.2, from: rate, to: rate },
        { name: "after spike", durationMs: durationMs * 0.4, from: rate / 5, to: rate / 5 },
      ],
    }),
  },
  soak: {
    name: "soak",
    summary: "constant rate for a long run, mostly token and API-key traffic",
    defaultDurationMs: 30 * MINUTE,
    thinkMs: 100,
    mix: { "new-user": 5, "returning-user": 40, "wrong-password": 5, "api-key": 50 },
    shape: (rate, durationMs) => ({ segments: [{ name: "steady", durationMs, from: rate, to: rate }] }),
  },
};

/** Picks journeys in the mix's exact proportions (smooth weighted round-robin, as nginx balances upstreams). */
export class MixPicker {
  private readonly current = new Map<JourneyName, number>();
  private readonly total: number;

  constructor(private readonly mix: Record<JourneyName, number>) {
    this.total = JOURNEYS.reduce((sum, j) => sum + mix[j], 0);
    for (const j of JOURNEYS) this.current.set(j, 0);
  }

  next(): JourneyName {
    let best: JourneyName = JOURNEYS[0];
    let bestValue = -Infinity;
    for (const j of JOURNEYS) {
      const value = this.current.get(j)! + this.mix[j];
      this.current.set(j, value);
      if (value > bestValue) {
        best = j;
        bestValue = value;
      }
    }
    this.current.set(best, bestValue - this.total);
    return best;
  }
}
