/**
 * The contract of the secrets module as other capabilities see it. Names are
 * kebab-case (`master-key`, `jwt-signing`, `database-url`, `stripe-webhook`).
 */

export interface Secrets {
  /** The current value; rejects with SecretNotFoundError when no provider has it. */
  get(name: string): Promise<string>;
  /** The current value, or undefined when no provider has it. */
  getOptional(name: string): Promise<string | undefined>;
  /**
   * Calls `cb` with the new value whenever a reload finds that `name` changed
   * (rotation). Returns a function that removes the callback.
   */
  onRotate(name: string, cb: (value: string) => void): () => void;
}

/** Counters of one secrets service (exported as metrics by the observability module). */
export interface SecretsStats {
  /** `get` answered from a fresh cache entry. */
  hits: number;
  /** `get` found no fresh entry and had to load (or serve stale). */
  misses: number;
  /** A value past its TTL was served because its provider failed. */
  staleServes: number;
  /** Provider calls that failed (each failure of a load counts once, however many callers waited on it). */
  loadErrors: number;
  /** Reloads that found a different value. */
  rotations: number;
  /** Provider loads that succeeded. */
  loads: number;
}

/** One secret as `rampart secrets list` shows it: never its value. */
export interface SecretInfo {
  name: string;
  /** The provider that serves it (the first in the chain that has it). */
  provider: string;
  version: string | null;
  /** When the provider last changed it (ISO 8601), when the provider knows. */
  updatedAt: string | null;
  /** Seconds since `updatedAt`. */
  ageSeconds: number | null;
  /** Later providers that hold the same name and are therefore not used for it. */
  shadowed: string[];
}

export interface SecretsListing {
  secrets: SecretInfo[];
  /** Providers that could not be listed, with a message that carries no value. */
  errors: { provider: string; message: string }[];
}

export interface SecretCheck {
  name: string;
  status: "ok" | "missing" | "error" | "invalid";
  provider?: string;
  version?: string | null;
  /** Why it is not ok (never a value). */
  message?: string;
}

export interface SecretsCheckReport {
  ok: boolean;
  results: SecretCheck[];
}

/** The full secrets service: the `Secrets` contract plus operations for the CLI, metrics and tests. */
export interface SecretsService extends Secrets {
  /**
   * The value before the current one, when the serving provider keeps versions
   * (AWS `AWSPREVIOUS`, Vault KV v2 older versions); undefined otherwise. For
   * verifiers that accept the old key during a rotation overlap.
   */
  getPrevious(name: string): Promise<string | undefined>;
  /** Ids of the providers in chain order. */
  readonly providerIds: readonly string[];
  /** Every secret the providers hold: name, provider, version, age. Loads no value into the cache. */
  list(): Promise<SecretsListing>;
  /** Resolves each name; `ok` is false when any is missing or failing. */
  check(names: readonly string[]): Promise<SecretsCheckReport>;
  /** A snapshot of the counters. */
  stats(): SecretsStats;
  /** Reloads `name` now (or every cached name), bypassing the TTL; rejects when a provider fails. */
  refresh(name?: string): Promise<void>;
  /** Reloads, in the background of the caller, every entry past its refresh point: what the timer runs. */
  refreshDue(): Promise<void>;
  /** Stops the refresh timer, waits for loads in flight and closes provider connections. */
  close(): Promise<void>;
}
