/**
 * Arrival-rate shapes of the open model: a shape is a list of segments, each
 * with a rate (arrivals per second) that moves linearly from `from` to `to`
 * over its duration, so constant, ramping, stepped and spiking loads are one
 * kind of thing. Arrival times are exact: the k-th arrival (k = 0, 1, ...) is
 * due where the integral of the rate reaches k, solved per segment in closed
 * form, so a run schedules exactly the integral of its shape whatever the
 * timer resolution and whatever the server does meanwhile.
 */

export interface Segment {
  /** Names the phase this segment is in the report (`step 2 (20/s)`, `spike`). */
  name: string;
  durationMs: number;
  /** Arrivals per second at the segment's start. */
  from: number;
  /** Arrivals per second at the segment's end. */
  to: number;
}

export interface Shape {
  segments: Segment[];
}

export interface Phase {
  name: string;
  startMs: number;
  endMs: number;
}

export function durationOf(shape: Shape): number {
  return shape.segments.reduce((sum, s) => sum + s.durationMs, 0);
}

/** The highest rate anywhere in the shape (arrivals per second). */
export function peakRate(shape: Shape): number {
  return Math.max(0, ...shape.segments.flatMap((s) => [s.from, s.to]));
}

/** How many arrivals the shape schedules: the integral of its rate, counting the one at time 0. */
export function expectedArrivals(shape: Shape): number {
  const total = shape.segments.reduce((sum, s) => sum + ((s.from + s.to) / 2) * (s.durationMs / 1000), 0);
  return total <= 0 ? 0 : Math.ceil(total - 1e-9);
}

/** The phases of a shape, one per segment, on the run's time axis. */
export function phasesOf(shape: Shape): Phase[] {
  let start = 0;
  return shape.segments.map((s) => {
    const phase = { name: s.name, startMs: start, endMs: start + s.durationMs };
    start += s.durationMs;
    return phase;
  });
}

/**
 * Due times of every arrival, in milliseconds from the start, in order.
 * Within a segment of length L whose rate goes from a to b (per ms), the
 * count of arrivals by τ is Λ(τ) = aτ + (b − a)τ²/2L; the arrival x after the
 * segment's start is at τ = 2x / (a + √(a² + 2(b − a)x/L)), the form of the
 * quadratic's root that stays exact when a = b and when a = 0.
 */
export function* arrivalTimes(shape: Shape): Generator<number> {
  let k = 0;
  let before = 0;
  let start = 0;
  for (const s of shape.segments) {
    const a = s.from / 1000;
    const b = s.to / 1000;
    const length = s.durationMs;
    const total = ((a + b) / 2) * length;
    while (k < before + total - 1e-9) {
      const x = k - before;
      const tau = x === 0 ? 0 : (2 * x) / (a + Math.sqrt(Math.max(0, a * a + (2 * (b - a) * x) / length)));
      yield start + Math.min(tau, length);
      k++;
    }
    before += total;
    start += length;
  }
}
