/**
 * The secrets service: a provider chain behind a cache. Each name is loaded
 * once per TTL (concurrent callers share one provider call), refreshed in the
 * background from 80% of its TTL and by a timer, and served stale for a
 * bounded time when its provider fails. A reload that finds a different value
 * fires the name's onRotate callbacks. Every value is registered with the log
 * redactor before anyone can see it, and events (events.ts) name the secret,
 * provider and version, never the value. All state belongs to the instance.
 *
 * Every provider call runs through an upstream (src/resilience) with the
 * SECRETS_PROVIDER_TIMEOUT_MS deadline: the provider's own for remote
 * backends (retries, circuit breaker; see upstream.ts), otherwise a private
 * one that only enforces the deadline. A refused or timed-out call is a load
 * failure like any other, so stale-if-error covers an open breaker too.
 */
import type { Config } from "../config/index.js";
import type { Logger, SecretRedactor } from "../log/index.js";
import { MIN_SECRET_LENGTH } from "../log/index.js";
import { createUpstream, upstreamFailure, type Upstream, type UpstreamRegistry } from "../resilience/index.js";
import type { Clock } from "../runtime/clock.js";
import { buildProviderChain, type ProviderChain } from "./chain.js";
import type { SecretsProviderRegistry } from "./schemes.js";
import { ProviderError, SecretLoadError, SecretNotFoundError, SecretsClosedError, safeReason } from "./errors.js";
import { logFailure, logLoad, type Found } from "./events.js";
import { checkSecrets, listSecrets } from "./inventory.js";
import { assertSecretName } from "./names.js";
import type { SecretProvider, SecretValue } from "./provider.js";
import type { SecretsCheckReport, SecretsListing, SecretsService, SecretsStats } from "./types.js";

/** Background refresh starts once this fraction of the TTL has passed, so readers never wait at expiry. */
const REFRESH_AHEAD_FRACTION = 0.8;

export interface SecretsOptions {
  config: Config;
  /** The environment the `env` provider reads (process.env in the server). */
  env: Record<string, string | undefined>;
  redactor: SecretRedactor;
  log: Logger;
  clock: Clock;
  /** Replaces the chain built from `RAMPART_SECRETS` (embedders, tests). */
  providers?: SecretProvider[];
  /** The schemes RAMPART_SECRETS may name (the runtime's: built-ins and the app's); default the built-ins. */
  schemes?: SecretsProviderRegistry;
  /** Period of the background refresh timer; default a tenth of the TTL within 1-30 s; 0 turns it off. */
  refreshIntervalMs?: number;
  /** The runtime's upstreams, where the remote backends register theirs (`secrets.aws`, `secrets.vault`). */
  upstreams?: UpstreamRegistry;
}

interface Entry {
  /** The value and where it came from; undefined when no provider had the name (cached too). */
  readonly found: Found | undefined;
  readonly expiresAt: number;
  readonly refreshAt: number;
  /** No automatic provider call for this name before this time (backoff after a failure). */
  retryAt: number;
}

/**
 * Creates the secrets service from the configuration. Throws a ConfigError
 * when the chain needs settings that are missing.
 */
export function createSecrets(options: SecretsOptions): SecretsService {
  const given = options.providers;
  const chain: ProviderChain = given
    ? { providers: given, close: async () => { for (const p of given) await p.close?.(); } }
    : buildProviderChain(options);
  return new SecretsManager(options, chain);
}

class SecretsManager implements SecretsService {
  readonly providerIds: readonly string[];
  private readonly providers: readonly SecretProvider[];
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry>>();
  private readonly previous = new Map<string, { basis: Entry; value: string | undefined }>();
  private readonly previousInflight = new Map<string, Promise<string | undefined>>();
  private readonly callbacks = new Map<string, Set<(value: string) => void>>();
  private readonly unredactable = new Set<string>();
  private readonly counters: SecretsStats = { hits: 0, misses: 0, staleServes: 0, loadErrors: 0, rotations: 0, loads: 0 };
  private readonly ttlMs: number;
  private readonly staleMs: number;
  /** The deadline of providers without an upstream of their own (env, dotenv, files, a host's). */
  private readonly local: Upstream;
  private readonly backoffMs: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: SecretsOptions,
    private readonly chain: ProviderChain,
  ) {
    const { config } = options;
    this.providers = chain.providers;
    this.providerIds = chain.providers.map((p) => p.id);
    this.log = options.log;
    this.clock = options.clock;
    this.ttlMs = config.secretsCacheTtlSeconds * 1000;
    this.staleMs = config.secretsStaleIfErrorSeconds * 1000;
    this.local = createUpstream("secrets.local", { timeoutMs: config.secretsProviderTimeoutMs, retries: 0, breaker: false });
    this.backoffMs = Math.min(30_000, Math.max(1000, this.ttlMs / 10));
    const interval = options.refreshIntervalMs ?? this.backoffMs;
    if (interval > 0) {
      this.timer = setInterval(() => void this.refreshDue(), interval);
      this.timer.unref();
    }
  }

  async get(name: string): Promise<string> {
    const { found } = await this.resolve(name);
    return (found ?? this.notFound(name)).value;
  }

  private notFound(name: string): never {
    throw new SecretNotFoundError(name, this.providers.map((p) => p.locate(name)));
  }

  async getOptional(name: string): Promise<string | undefined> {
    return (await this.resolve(name)).found?.value;
  }

  onRotate(name: string, cb: (value: string) => void): () => void {
    assertSecretName(name);
    let set = this.callbacks.get(name);
    if (set === undefined) this.callbacks.set(name, (set = new Set()));
    set.add(cb);
    // A change can only be seen against a known value: load one now if nobody has yet.
    if (!this.entries.has(name)) this.background(name);
    return () => {
      set.delete(cb);
      if (set.size === 0 && this.callbacks.get(name) === set) this.callbacks.delete(name);
    };
  }

  async getPrevious(name: string): Promise<string | undefined> {
    const entry = await this.resolve(name);
    const found = entry.found;
    const provider = found && this.providers.find((p) => p.id === found.provider);
    const loadPrevious = provider?.loadPrevious?.bind(provider);
    if (provider === undefined || loadPrevious === undefined) return undefined;
    const cached = this.previous.get(name);
    // Valid while the current value it was read against is the one cached.
    if (cached !== undefined && cached.basis === this.entries.get(name)) return cached.value;
    let pending = this.previousInflight.get(name);
    if (pending === undefined) {
      pending = (async () => {
        let prev: SecretValue | undefined;
        try {
          prev = await this.call(provider, (signal) => loadPrevious(name, signal));
        } catch (err) {
          this.counters.loadErrors++;
          throw new SecretLoadError(name, provider.id, safeReason(err), { cause: err });
        }
        const value = prev?.value === "" ? undefined : prev?.value;
        if (value !== undefined) this.register(name, provider.id, value);
        this.previous.set(name, { basis: entry, value });
        return value;
      })().finally(() => this.previousInflight.delete(name));
      this.previousInflight.set(name, pending);
    }
    return pending;
  }

  list(): Promise<SecretsListing> {
    return listSecrets(this.providers, (provider, fn) => this.call(provider, fn), this.clock.now());
  }

  check(names: readonly string[]): Promise<SecretsCheckReport> {
    return checkSecrets(names, async (name) => (await this.resolve(name)).found ?? this.notFound(name));
  }

  stats(): SecretsStats {
    return { ...this.counters };
  }

  async refresh(name?: string): Promise<void> {
    if (this.closing) throw new SecretsClosedError();
    if (name !== undefined) {
      assertSecretName(name);
      // A load already in flight may have started before the change the caller knows about: wait, then load anew.
      await this.inflight.get(name)?.catch(() => undefined);
      await this.load(name);
      return;
    }
    const names = [...this.entries.keys()];
    const results = await Promise.allSettled(names.map((n) => this.refresh(n)));
    const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} of ${names.length} secrets could not be refreshed`);
  }

  async refreshDue(): Promise<void> {
    if (this.closing) return;
    const now = this.clock.now();
    const due = new Set<string>();
    for (const [name, entry] of this.entries) if (now >= entry.refreshAt && now >= entry.retryAt) due.add(name);
    for (const name of this.callbacks.keys()) if (!this.entries.has(name)) due.add(name);
    // Failures are counted and logged by the load itself.
    await Promise.allSettled([...due].filter((n) => !this.inflight.has(n)).map((n) => this.load(n)));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      await Promise.allSettled([...this.inflight.values(), ...this.previousInflight.values()]);
      await this.chain.close();
    })();
    return this.closing;
  }

  /** The cache entry for `name`: fresh, freshly loaded, or stale within the bound when the provider fails. */
  private async resolve(name: string): Promise<Entry> {
    assertSecretName(name);
    if (this.closing) throw new SecretsClosedError();
    const now = this.clock.now();
    const entry = this.entries.get(name);
    if (entry !== undefined && now < entry.expiresAt) {
      this.counters.hits++;
      if (now >= entry.refreshAt) this.background(name);
      return entry;
    }
    this.counters.misses++;
    if (entry !== undefined && now < entry.retryAt && this.servableStale(entry, now)) {
      // A reload failed moments ago (and was logged): do not call the provider again until the backoff ends.
      this.counters.staleServes++;
      return entry;
    }
    try {
      return await this.load(name);
    } catch (err) {
      const current = this.entries.get(name);
      if (current !== undefined && this.servableStale(current, this.clock.now())) {
        this.counters.staleServes++;
        return current;
      }
      throw err;
    }
  }

  private servableStale(entry: Entry, now: number): boolean {
    return entry.found !== undefined && now < entry.expiresAt + this.staleMs;
  }

  /** Starts a load nobody waits for (refresh-ahead); its failure is counted and logged by the load. */
  private background(name: string): void {
    const entry = this.entries.get(name);
    if (this.closing || this.inflight.has(name) || (entry !== undefined && this.clock.now() < entry.retryAt)) return;
    this.load(name).catch(() => undefined);
  }

  /** Single-flight: every caller of a name that is loading gets the same promise. */
  private load(name: string): Promise<Entry> {
    let pending = this.inflight.get(name);
    if (pending === undefined) {
      pending = this.loadFromChain(name).finally(() => this.inflight.delete(name));
      this.inflight.set(name, pending);
    }
    return pending;
  }

  private async loadFromChain(name: string): Promise<Entry> {
    let found: Found | undefined;
    for (const provider of this.providers) {
      let result: SecretValue | undefined;
      try {
        result = await this.call(provider, (signal) => provider.load(name, signal));
      } catch (err) {
        // No fall-through to later providers: they may hold an older value than the one that failed.
        throw this.failed(name, provider.id, err);
      }
      // An empty value counts as unset, as it does for configuration variables.
      if (result !== undefined && result.value !== "") {
        found = { ...result, provider: provider.id };
        break;
      }
    }
    if (found !== undefined) this.register(name, found.provider, found.value);
    this.counters.loads++;
    const now = this.clock.now();
    const entry: Entry = { found, expiresAt: now + this.ttlMs, refreshAt: now + this.ttlMs * REFRESH_AHEAD_FRACTION, retryAt: now };
    const old = this.entries.get(name);
    if (!this.closing) this.entries.set(name, entry);
    if (logLoad(this.log, name, old?.found, found) === "rotated" && found !== undefined) this.rotated(name, found.value);
    return entry;
  }

  /** Counts and logs a failed load, backs off further automatic loads, and returns the error to throw. */
  private failed(name: string, provider: string, err: unknown): SecretLoadError {
    const error = new SecretLoadError(name, provider, safeReason(err), { cause: err });
    this.counters.loadErrors++;
    const now = this.clock.now();
    const old = this.entries.get(name);
    if (old !== undefined) old.retryAt = now + this.backoffMs;
    const serving =
      old?.found !== undefined && now < old.expiresAt
        ? ({ kind: "fresh" } as const)
        : old !== undefined && this.servableStale(old, now)
          ? ({ kind: "stale", until: old.expiresAt + this.staleMs } as const)
          : ({ kind: "none" } as const);
    logFailure(this.log, { secretName: name, provider, reason: error.reason }, serving);
    return error;
  }

  /** Runs the rotation callbacks of `name`; one failing callback does not stop the others. */
  private rotated(name: string, value: string): void {
    this.counters.rotations++;
    this.previous.delete(name);
    for (const cb of [...(this.callbacks.get(name) ?? [])]) {
      try {
        const result: unknown = cb(value);
        if (result instanceof Promise) result.catch((err: unknown) => this.callbackFailed(name, err));
      } catch (err) {
        this.callbackFailed(name, err);
      }
    }
  }

  private callbackFailed(name: string, err: unknown): void {
    // The value is registered with the redactor, so even an error that quotes it prints masked.
    this.log.error({ event: "secret.rotate_callback_failed", secretName: name, err }, "a secret rotation callback failed");
  }

  private register(name: string, provider: string, value: string): void {
    if (this.options.redactor.register(value) || this.unredactable.has(name)) return;
    this.unredactable.add(name);
    this.log.warn({ event: "secret.unredactable", secretName: name, provider }, `secret is shorter than ${MIN_SECRET_LENGTH} characters and cannot be masked in logs`);
  }

  /** One provider call through its upstream; a timeout or a refusal becomes a ProviderError saying which. */
  private async call<T>(provider: SecretProvider, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await (provider.upstream ?? this.local).execute(fn, { idempotent: true });
    } catch (err) {
      const refused = upstreamFailure(err);
      if (refused === undefined) throw err;
      const reason = refused.kind === "timeout" ? `timed out after ${refused.timeoutMs} ms` : refused.message;
      throw new ProviderError(reason, { cause: err, transient: true });
    }
  }
}
