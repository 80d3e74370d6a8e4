/**
 * One load test from start to end: the generator's short calibration, the
 * test accounts, the measured phase (an open model of journeys), the
 * clean-up, and the verdict of the budgets. The clean-up runs whatever
 * happened before it, an interrupted run included.
 */
import { randomBytes } from "node:crypto";
import { AccountFactory, AccountPool, createTestAccounts, LoadTestSetupError, removeTestAccounts, type CleanupResult, type TestAccount } from "./accounts.js";
import { ENDPOINT_ROUTES, ENDPOINTS, evaluateBudgets, type BudgetCheck, type Budgets } from "./budgets.js";
import { calibrate, ceilingWarning, type Calibration } from "./calibrate.js";
import { ClientRequestError, HttpClient } from "./client.js";
import { journeyFor, JOURNEY_REQUESTS, type JourneyContext, type JourneyCounts } from "./journeys.js";
import { Recorder, type EndpointStats, type PhaseStats, type Sample, type SecondStats } from "./recorder.js";
import { JOURNEYS, MixPicker, scenarios, type JourneyName, type ScenarioName } from "./scenarios.js";
import { startOpenModel } from "./scheduler.js";
import { durationOf, expectedArrivals, peakRate, phasesOf, type Phase } from "./shape.js";
import { VERSION } from "../version.js";

export interface LoadTestOptions {
  url: URL;
  scenario: ScenarioName;
  /** Peak arrival rate: journey starts per second. */
  rate: number;
  durationMs: number;
  budgets: Budgets;
  /** Most journeys running at once; an arrival beyond it is dropped. */
  maxInFlight: number;
  /** Test accounts for the login journeys (default: sized from the rate and the mix). */
  accounts?: number;
  /** How many of them get an API key (default: sized from the rate and the mix). */
  apiKeys?: number;
  /** Accounts made or removed per second at most. */
  setupRate: number;
  /** How long set-up and clean-up may wait out 429s. */
  setupTimeoutMs: number;
  /** Deadline of one request. */
  timeoutMs: number;
  emailDomain: string;
  /** Run the short calibration first (a few seconds). */
  calibrate: boolean;
  /** Ends the measured phase early (the clean-up still runs). */
  signal?: AbortSignal;
  /** Ends the clean-up early (what is left is reported). */
  cleanupSignal?: AbortSignal;
  onEvent?: (event: LoadTestEvent) => void;
  onSample?: (sample: Sample) => void;
}

export interface LiveTick {
  elapsedMs: number;
  durationMs: number;
  /** Journeys started in the last complete second. */
  rate: number;
  inFlight: number;
  /** P95 (ms) per endpoint in the last complete second. */
  p95: Record<string, number | null>;
  requests: number;
  errors: number;
  throttled: number;
  dropped: number;
}

export type LoadTestEvent = { type: "phase"; message: string } | { type: "notice"; message: string } | { type: "tick"; tick: LiveTick };

export interface LoadTestResult {
  tool: string;
  version: string;
  target: string;
  startedAt: string;
  scenario: { name: ScenarioName; summary: string; rate: number; durationMs: number; thinkMs: number; mix: Record<JourneyName, number>; phases: Phase[] };
  generator: { client: string; maxInFlight: number; calibration?: Calibration; peakRequestsPerSecond: number };
  arrivals: { expected: number; scheduled: number; started: number; dropped: Record<string, number>; interrupted: boolean };
  journeys: Record<JourneyName, JourneyCounts>;
  endpoints: Record<string, EndpointStats & { route: string }>;
  phases: PhaseStats[];
  timeline: SecondStats[];
  budgets: Budgets & { checks: BudgetCheck[] };
  passed: boolean;
  /** `retired`: accounts taken out of the pool during the run (a login without an answer, or locked). */
  setup: { accounts: number; apiKeys: number; requests: number; throttled: number; durationMs: number; retired: number };
  cleanup: CleanupResult & { durationMs: number };
  warnings: string[];
}

/** Journey starts per second times requests per journey, weighted by the mix. */
export function requestsPerJourney(mix: Record<JourneyName, number>): number {
  const total = JOURNEYS.reduce((s, j) => s + mix[j], 0);
  return JOURNEYS.reduce((s, j) => s + (mix[j] / total) * JOURNEY_REQUESTS[j], 0);
}

/**
 * Default test data for a rate: enough accounts that the login journeys
 * arriving over 8 s (a slow journey's length) each hold their own, and one
 * API key per api-key journey a second.
 */
export function defaultTestData(mix: Record<JourneyName, number>, peak: number): { accounts: number; apiKeys: number } {
  const total = JOURNEYS.reduce((s, j) => s + mix[j], 0);
  const loginShare = (mix["returning-user"] + mix["wrong-password"]) / total;
  const keyShare = mix["api-key"] / total;
  const apiKeys = keyShare > 0 ? Math.min(500, Math.max(1, Math.ceil(peak * keyShare))) : 0;
  const accounts = Math.max(apiKeys, Math.min(5000, Math.max(10, Math.ceil(peak * loginShare * 8))));
  return { accounts, apiKeys };
}

const emptyCounts = (): Record<JourneyName, JourneyCounts> => Object.fromEntries(JOURNEYS.map((j) => [j, { started: 0, completed: 0, failed: 0 }])) as Record<JourneyName, JourneyCounts>;

/** Runs the load test; throws LoadTestSetupError when the test data cannot be made (after removing what was). */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult> {
  const scenario = scenarios[options.scenario];
  const shape = scenario.shape(options.rate, options.durationMs);
  const peak = peakRate(shape);
  const peakRequests = peak * requestsPerJourney(scenario.mix);
  const emit = (event: LoadTestEvent) => options.onEvent?.(event);
  const warnings: string[] = [];

  let calibration: Calibration | undefined;
  if (options.calibrate) {
    emit({ type: "phase", message: "calibrating the generator against a bare node:http server on loopback" });
    calibration = await calibrate({ stepMs: 500, refine: false, ...(options.signal ? { signal: options.signal } : {}) });
    const warning = ceilingWarning(peakRequests, calibration.ceiling);
    if (warning) {
      warnings.push(warning);
      emit({ type: "notice", message: warning });
    }
  }

  const client = new HttpClient(options.url, { timeoutMs: options.timeoutMs });
  // Set-up and clean-up are not measured: a server still busy (with the run, or warming up) gets a minute per request.
  const patient = new HttpClient(options.url, { timeoutMs: Math.max(options.timeoutMs, 60_000) });
  const factory = new AccountFactory(randomBytes(4).toString("hex"), options.emailDomain);
  const sizing = defaultTestData(scenario.mix, peak);
  const accountCount = options.accounts ?? sizing.accounts;
  const keyCount = Math.min(accountCount, options.apiKeys ?? sizing.apiKeys);
  const made: TestAccount[] = [];
  const registered: TestAccount[] = [];
  const paced = (signal?: AbortSignal) => ({ ratePerSecond: options.setupRate, deadlineMs: options.setupTimeoutMs, onNotice: (message: string) => emit({ type: "notice", message }), ...(signal ? { signal } : {}) });
  const cleanUp = async () => {
    const all = [...made, ...registered];
    emit({ type: "phase", message: `removing ${all.length} test accounts (login and DELETE /v1/me, at most ${options.setupRate}/s)` });
    const t = performance.now();
    const result = await removeTestAccounts(patient, all, paced(options.cleanupSignal));
    return { ...result, durationMs: Math.round(performance.now() - t) };
  };

  try {
    emit({ type: "phase", message: `creating ${accountCount} test accounts (${keyCount} with an API key) through the API, at most ${options.setupRate}/s` });
    const setupStart = performance.now();
    let setup;
    try {
      setup = await createTestAccounts(patient, factory, accountCount, keyCount, paced(options.signal), made);
    } catch (err) {
      const cleanup = await cleanUp();
      const left = cleanup.leftover.length > 0 ? ` (${cleanup.leftover.length} test accounts could not be removed: ${cleanup.leftover.slice(0, 5).join(", ")}${cleanup.leftover.length > 5 ? ", ..." : ""})` : "";
      if (err instanceof ClientRequestError) throw new LoadTestSetupError(`set-up: cannot reach ${options.url.href}: ${err.kind} (${err.message})${left}`);
      if (err instanceof LoadTestSetupError) throw new LoadTestSetupError(`${err.message}${left}`);
      if (options.signal?.aborted) throw new LoadTestSetupError(`set-up interrupted${left}`);
      throw err;
    }
    const setupMs = Math.round(performance.now() - setupStart);

    emit({ type: "phase", message: `${scenario.name}: ${scenario.summary}; peak ${peak} journeys/s (about ${Math.round(peakRequests)} requests/s) for ${options.durationMs / 1000} s` });
    const phases = phasesOf(shape);
    const clock = () => performance.now();
    const counts = emptyCounts();
    const picker = new MixPicker(scenario.mix);
    const crashes: string[] = [];
    const startedAt = clock();
    const startedWall = new Date().toISOString();
    // Accounts with a key already carry API traffic: login journeys take the others first (per-principal limits).
    const keyed = setup.accounts.filter((a) => a.apiKey);
    const pool = new AccountPool([...setup.accounts.filter((a) => !a.apiKey), ...keyed]);
    const recorder = new Recorder({ startedAt, phases, endpoints: ENDPOINTS, ...(options.onSample ? { onSample: options.onSample } : {}) });
    const context: JourneyContext = { client, recorder, clock, thinkMs: scenario.thinkMs, pool, keyed, keyTurn: 0, factory, registered, counts };
    const run = startOpenModel({
      shape,
      maxInFlight: options.maxInFlight,
      clock,
      startedAt,
      ...(options.signal ? { signal: options.signal } : {}),
      onScheduled: (arrival) => recorder.scheduled(arrival.scheduledAt),
      onArrival: (arrival) => {
        const decision = journeyFor(context, picker.next(), arrival);
        if ("run" in decision) recorder.started(arrival.scheduledAt);
        return decision;
      },
      onDropped: (arrival) => recorder.dropped(arrival.scheduledAt),
      onCrash: (err) => crashes.push(err instanceof Error ? err.message : String(err)),
    });
    const ticker = setInterval(() => {
      const now = clock();
      recorder.advance(now);
      const last = recorder.lastSecond();
      const stats = recorder.endpointStats();
      const sum = (f: (s: EndpointStats) => number) => Object.values(stats).reduce((a, s) => a + f(s), 0);
      emit({
        type: "tick",
        tick: {
          elapsedMs: now - run.startedAt,
          durationMs: durationOf(shape),
          rate: last?.started ?? 0,
          inFlight: run.inFlight,
          p95: last?.p95 ?? {},
          requests: sum((s) => s.requests),
          errors: sum((s) => s.errors),
          throttled: sum((s) => Object.values(s.throttled).reduce((a, b) => a + b, 0)),
          dropped: recorder.timeline().reduce((a, s) => a + s.dropped, 0),
        },
      });
    }, 1000);
    const arrivals = await run.done.finally(() => clearInterval(ticker));
    recorder.finish(clock());
    if (pool.retired.length > 0) {
      warnings.push(`${pool.retired.length} test accounts were taken out of the pool after a login got no answer or found the account locked (the server may still have been working on it)`);
    }
    const cleanup = await cleanUp();

    const endpoints = Object.fromEntries(Object.entries(recorder.endpointStats()).map(([name, s]) => [name, { ...s, route: ENDPOINT_ROUTES[name as keyof typeof ENDPOINT_ROUTES] }]));
    const checks = evaluateBudgets(endpoints, options.budgets, arrivals.dropped);
    // Accounts run out because logins went unanswered: the server's overload, not too few accounts.
    const busy = checks.find((c) => c.metric === "dropped" && !c.ok && arrivals.dropped["accounts-busy"]);
    if (busy && pool.retired.length > 0) busy.message += ` (${pool.retired.length} accounts were retired after logins that got no answer: the target is overloaded at this rate)`;
    if (arrivals.interrupted) checks.push({ subject: "run", metric: "interrupted", limit: 0, actual: Math.round((clock() - run.startedAt) / 1000), ok: false, message: `run: interrupted before the end of the schedule (${arrivals.scheduled} of ${expectedArrivals(shape)} arrivals)` });
    if (crashes.length > 0) checks.push({ subject: "run", metric: "crashed", limit: 0, actual: crashes.length, ok: false, message: `run: ${crashes.length} journeys stopped on an unexpected error in the generator (first: ${crashes[0]})` });
    if (cleanup.leftover.length > 0) {
      checks.push({ subject: "clean-up", metric: "leftover", limit: 0, actual: cleanup.leftover.length, ok: false, message: `clean-up: ${cleanup.leftover.length} test accounts could not be removed (${cleanup.leftover.slice(0, 5).join(", ")}${cleanup.leftover.length > 5 ? ", ..." : ""}); an admin can erase them` });
    }
    return {
      tool: "rampart loadtest",
      version: VERSION,
      target: options.url.href,
      startedAt: startedWall,
      scenario: { name: scenario.name, summary: scenario.summary, rate: options.rate, durationMs: options.durationMs, thinkMs: scenario.thinkMs, mix: { ...scenario.mix }, phases },
      generator: { client: "node:http keep-alive Agent", maxInFlight: options.maxInFlight, ...(calibration ? { calibration } : {}), peakRequestsPerSecond: Math.round(peakRequests) },
      arrivals: { expected: expectedArrivals(shape), scheduled: arrivals.scheduled, started: arrivals.started, dropped: arrivals.dropped, interrupted: arrivals.interrupted },
      journeys: counts,
      endpoints,
      phases: recorder.phaseStats(),
      timeline: recorder.timeline(),
      budgets: { ...options.budgets, checks },
      passed: checks.every((c) => c.ok),
      setup: { accounts: setup.accounts.length, apiKeys: keyCount, requests: setup.requests, throttled: setup.throttled, durationMs: setupMs, retired: pool.retired.length },
      cleanup,
      warnings,
    };
  } finally {
    client.close();
    patient.close();
  }
}
