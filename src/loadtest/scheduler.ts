/**
 * The open-model scheduler: arrivals start at the times the shape gives,
 * whether or not earlier ones have finished, so a slow or stalled server
 * meets the same offered load instead of slowing the generator down with it
 * (a closed loop that waits would hide exactly the latency a stall causes).
 *
 * When a timer fires late (a busy event loop), every arrival already due is
 * started at once and keeps its scheduled time, which the journey measures
 * latency from. An arrival that cannot start — the in-flight cap is reached,
 * or the journey has nothing to run with — is counted as dropped with its
 * reason, never skipped silently.
 */
import { arrivalTimes, type Shape } from "./shape.js";

export interface Arrival {
  /** 0 for the first arrival of the run. */
  index: number;
  /** When it is due, in milliseconds of `clock` (not relative to the start). */
  scheduledAt: number;
}

export type ArrivalDecision = { run: () => Promise<void> } | { drop: string };

/** Reason of an arrival dropped because `maxInFlight` arrivals were still running. */
export const IN_FLIGHT_CAP = "in-flight-cap";

export interface OpenModelOptions {
  shape: Shape;
  /** Most arrivals running at once; one more is dropped (`in-flight-cap`). */
  maxInFlight: number;
  /** Decides what an arrival runs, or why it cannot start. Called only under the cap. */
  onArrival(arrival: Arrival): ArrivalDecision;
  /** Every arrival as it comes due, before it is started or dropped. */
  onScheduled?(arrival: Arrival): void;
  onDropped?(arrival: Arrival, reason: string): void;
  /** A run that rejected (journeys handle their own failures; this is for bugs, counted, never thrown). */
  onCrash?(error: unknown): void;
  /** Milliseconds, monotonic. */
  clock?: () => number;
  /** Time 0 of the shape on `clock` (default: now). */
  startedAt?: number;
  /** Stops scheduling; the arrivals already running finish. */
  signal?: AbortSignal;
}

export interface OpenModelCounts {
  startedAt: number;
  scheduled: number;
  started: number;
  dropped: Record<string, number>;
  /** True when the signal stopped the schedule before its end. */
  interrupted: boolean;
}

export interface OpenModelRun {
  readonly startedAt: number;
  /** Arrivals running right now. */
  readonly inFlight: number;
  readonly scheduled: number;
  /** Resolves once the schedule is over and every started arrival has finished. */
  readonly done: Promise<OpenModelCounts>;
}

/** Starts the schedule now; see the module comment. */
export function startOpenModel(options: OpenModelOptions): OpenModelRun {
  const clock = options.clock ?? (() => performance.now());
  const startedAt = options.startedAt ?? clock();
  const times = arrivalTimes(options.shape);
  const running = new Set<Promise<void>>();
  const dropped: Record<string, number> = {};
  let next = times.next();
  let scheduled = 0;
  let started = 0;
  let inFlight = 0;
  let interrupted = false;
  let timer: NodeJS.Timeout | undefined;

  const drop = (arrival: Arrival, reason: string) => {
    dropped[reason] = (dropped[reason] ?? 0) + 1;
    options.onDropped?.(arrival, reason);
  };

  const launch = (arrival: Arrival) => {
    options.onScheduled?.(arrival);
    if (inFlight >= options.maxInFlight) return drop(arrival, IN_FLIGHT_CAP);
    const decision = options.onArrival(arrival);
    if ("drop" in decision) return drop(arrival, decision.drop);
    inFlight++;
    started++;
    const p = decision
      .run()
      .catch((err: unknown) => options.onCrash?.(err))
      .finally(() => {
        inFlight--;
        running.delete(p);
      });
    running.add(p);
  };

  const schedule = new Promise<void>((resolve) => {
    const stop = () => {
      if (timer) clearTimeout(timer);
      interrupted = !next.done;
      resolve();
    };
    if (options.signal?.aborted) return stop();
    options.signal?.addEventListener("abort", stop, { once: true });
    const tick = () => {
      if (options.signal?.aborted) return;
      const elapsed = clock() - startedAt;
      while (!next.done && next.value <= elapsed) {
        launch({ index: scheduled++, scheduledAt: startedAt + next.value });
        next = times.next();
      }
      if (next.done) {
        options.signal?.removeEventListener("abort", stop);
        return resolve();
      }
      timer = setTimeout(tick, Math.max(0, next.value - (clock() - startedAt)));
    };
    tick();
  });

  const done = schedule.then(async () => {
    while (running.size > 0) await Promise.all([...running]);
    return { startedAt, scheduled, started, dropped: { ...dropped }, interrupted };
  });

  return {
    startedAt,
    get inFlight() {
      return inFlight;
    },
    get scheduled() {
      return scheduled;
    },
    done,
  };
}
