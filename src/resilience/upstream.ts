/**
 * One helper for every outbound call (KMS, secrets providers, webhook
 * handlers, SMTP, a host's upstream APIs), built from cockatiel policies:
 *
 *   bulkhead → retry (idempotent calls only) → circuit breaker → timeout → fn
 *
 * The bulkhead is outermost, so it bounds whole calls (retries and backoff
 * included) and refuses at once beyond its queue. Each attempt gets its own
 * timeout and AbortSignal; the strategy is aggressive, so a call returns at
 * the deadline even when `fn` ignores the signal (it should honour it, or its
 * work goes on in the background). Retries use exponential backoff with
 * decorrelated jitter (cockatiel's default generator; see the AWS
 * architecture note "Exponential Backoff and Jitter") and never retry into an
 * open breaker. The breaker counts timeouts and the errors `isFailure`
 * accepts; other errors (a 4xx answer) pass through untouched.
 *
 * An open breaker, a full bulkhead and a timeout surface as
 * `RampartError("SERVICE_UNAVAILABLE")` whose cause is an UpstreamError
 * naming the upstream; any other error is the upstream's own, rethrown.
 */
import {
  bulkhead as bulkheadPolicy,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  decorrelatedJitterGenerator,
  ExponentialBackoff,
  handleWhen,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  retry as retryPolicy,
  SamplingBreaker,
  TaskCancelledError,
  timeout as timeoutPolicy,
  TimeoutStrategy,
  wrap,
  type IDefaultPolicyContext,
  type IPolicy,
} from "cockatiel";
import { RampartError } from "../errors/index.js";
import { resolveUpstreamOptions, type UpstreamOptions } from "./options.js";
import { LatencyHistogram, type BreakerState, type UpstreamStats } from "./stats.js";

export type UpstreamFailureKind = "breaker_open" | "bulkhead_full" | "timeout";

const DESCRIPTIONS: Record<UpstreamFailureKind, string> = { breaker_open: "circuit breaker open", bulkhead_full: "bulkhead full", timeout: "timed out" };

/** The cause of a SERVICE_UNAVAILABLE raised by the resilience layer itself. */
export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    readonly upstream: string,
    readonly kind: UpstreamFailureKind,
    cause: unknown,
    /** The per-attempt deadline, for a timeout. */
    readonly timeoutMs?: number,
  ) {
    super(`upstream '${upstream}': ${DESCRIPTIONS[kind]}${timeoutMs === undefined ? "" : ` after ${timeoutMs} ms`}`, { cause });
  }
}

/**
 * The UpstreamError behind a SERVICE_UNAVAILABLE that an upstream's own
 * policies raised (timeout, open breaker, full bulkhead); undefined for any
 * other error, the upstream's own answers included.
 */
export function upstreamFailure(err: unknown): UpstreamError | undefined {
  return err instanceof RampartError && err.code === "SERVICE_UNAVAILABLE" && err.cause instanceof UpstreamError ? err.cause : undefined;
}

export interface ExecuteOptions {
  /** Whether repeating the call is safe (GET, PUT, a KMS decrypt); only then is it retried. */
  idempotent: boolean;
  /** The caller's cancellation: aborts the attempt in flight and stops retries. */
  signal?: AbortSignal;
}

export interface Upstream {
  readonly name: string;
  /** Runs `fn` through the policies; `fn` receives the attempt's AbortSignal. */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, options: ExecuteOptions): Promise<T>;
  readonly breakerState: BreakerState;
  /** Holds the breaker open (maintenance, drills) until the handle is disposed. */
  isolate(): { dispose(): void };
  stats(): UpstreamStats;
}

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
};

type AnyPolicy = IPolicy<IDefaultPolicyContext, never>;

// cockatiel 3.2.x's own isTaskCancelledError tests for the bulkhead marker
// property and never matches a timeout; the class check is reliable.
const isTimeout = (err: unknown): boolean => err instanceof TaskCancelledError;

/** Creates the policies and counters of one upstream; options errors name the option and the value. */
export function createUpstream(name: string, options: UpstreamOptions): Upstream {
  const o = resolveUpstreamOptions(name, options);
  const counts = { calls: 0, successes: 0, failures: 0, retries: 0, timeouts: 0, breakerOpens: 0, breakerOpen: 0, bulkheadFull: 0 };
  const latency = new LatencyHistogram();
  const countsAsFailure = (err: unknown) => isTimeout(err) || o.isFailure(err);

  const timeout = timeoutPolicy(o.timeoutMs, TimeoutStrategy.Aggressive);
  timeout.onTimeout(() => counts.timeouts++);

  const breaker = o.breaker
    ? circuitBreaker(handleWhen(countsAsFailure), {
        halfOpenAfter: o.breaker.halfOpenAfterMs,
        breaker:
          o.breaker.kind === "consecutive"
            ? new ConsecutiveBreaker(o.breaker.failures)
            : new SamplingBreaker({ threshold: o.breaker.threshold, duration: o.breaker.windowMs, ...(o.breaker.minimumRps !== undefined ? { minimumRps: o.breaker.minimumRps } : {}) }),
      })
    : null;
  breaker?.onBreak((reason) => {
    counts.breakerOpens++;
    const why = "error" in reason ? reason.error.message : "isolated";
    o.log?.warn({ upstream: name, reason: why }, "upstream circuit opened");
  });
  breaker?.onHalfOpen(() => o.log?.info({ upstream: name }, "upstream circuit half-open: trying one call"));
  breaker?.onReset(() => o.log?.info({ upstream: name }, "upstream circuit closed"));

  const retry =
    o.retries > 0
      ? retryPolicy(handleWhen((err) => !isBrokenCircuitError(err) && countsAsFailure(err)), {
          maxAttempts: o.retries,
          backoff: new ExponentialBackoff({ generator: decorrelatedJitterGenerator, initialDelay: o.initialDelayMs, maxDelay: o.maxDelayMs }),
        })
      : null;
  retry?.onRetry(() => counts.retries++);

  const bulkhead = o.bulkhead ? bulkheadPolicy(o.bulkhead.maxConcurrent, o.bulkhead.maxQueue) : null;
  const chain = (...ps: (AnyPolicy | null)[]) => wrap(...ps.filter((p): p is AnyPolicy => p !== null));
  const once = chain(bulkhead, breaker, timeout as unknown as AnyPolicy);
  const retried = chain(bulkhead, retry, breaker, timeout as unknown as AnyPolicy);

  const unavailable = (kind: UpstreamFailureKind, err: unknown) =>
    new RampartError("SERVICE_UNAVAILABLE", { cause: new UpstreamError(name, kind, err, kind === "timeout" ? o.timeoutMs : undefined) });

  function mapError(err: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return err;
    if (isBrokenCircuitError(err)) {
      counts.breakerOpen++;
      return unavailable("breaker_open", err);
    }
    if (isBulkheadRejectedError(err)) {
      counts.bulkheadFull++;
      return unavailable("bulkhead_full", err);
    }
    if (isTimeout(err)) return unavailable("timeout", err);
    return err;
  }

  return {
    name,
    async execute<T>(fn: (signal: AbortSignal) => Promise<T>, opts: ExecuteOptions): Promise<T> {
      counts.calls++;
      const started = performance.now();
      // When the deadline aborts the attempt, `fn` may reject first with its own
      // AbortError (fetch does): report it as the timeout it is, so the breaker,
      // the retry filter and the mapping below see one kind of error.
      // Awaited inside an async function, so a synchronous throw or a plain value from `fn` is handled alike.
      const attempt = async (ctx: IDefaultPolicyContext) => {
        try {
          return await fn(ctx.signal);
        } catch (err) {
          if (ctx.signal.aborted && !opts.signal?.aborted) throw new TaskCancelledError(`upstream '${name}' timed out after ${o.timeoutMs} ms`);
          throw err;
        }
      };
      try {
        const value = await (opts.idempotent ? retried : once).execute(attempt, opts.signal);
        counts.successes++;
        return value as T;
      } catch (err) {
        counts.failures++;
        throw mapError(err, opts.signal);
      } finally {
        latency.observe(performance.now() - started);
      }
    },
    get breakerState(): BreakerState {
      return breaker ? STATES[breaker.state] : "disabled";
    },
    isolate() {
      if (!breaker) throw new Error(`upstream '${name}' has no circuit breaker to isolate`);
      return breaker.isolate();
    },
    stats(): UpstreamStats {
      return {
        name,
        calls: counts.calls,
        successes: counts.successes,
        failures: counts.failures,
        retries: counts.retries,
        timeouts: counts.timeouts,
        breaker: breaker ? STATES[breaker.state] : "disabled",
        breakerOpens: counts.breakerOpens,
        rejections: { breakerOpen: counts.breakerOpen, bulkheadFull: counts.bulkheadFull },
        inFlight: o.bulkhead && bulkhead ? o.bulkhead.maxConcurrent - bulkhead.executionSlots : 0,
        queued: o.bulkhead && bulkhead ? o.bulkhead.maxQueue - bulkhead.queueSlots : 0,
        latency: latency.snapshot(),
      };
    },
  };
}
