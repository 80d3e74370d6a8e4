/**
 * The interface every secrets backend implements. Providers are stateless
 * readers (apart from connections and auth tokens): caching, single-flight,
 * timeouts, redaction and rotation live in one place, the service.
 */
import type { Upstream } from "../resilience/index.js";

/** One version of a secret as a provider returns it. */
export interface SecretValue {
  readonly value: string;
  /** The provider's version id (AWS VersionId, Vault KV version); undefined when it has none. */
  readonly version?: string;
  /** When this version was written (epoch ms), when the provider knows. */
  readonly updatedAt?: number;
}

/** A secret a provider holds, without its value (for `rampart secrets list`). */
export interface SecretListing {
  readonly name: string;
  readonly version?: string;
  readonly updatedAt?: number;
}

export interface SecretProvider {
  /** Stable id used in logs, errors and listings, e.g. `env`, `files:/run/secrets`. */
  readonly id: string;
  /**
   * The resilience policies the service runs this provider's calls through
   * (timeout, retries, circuit breaker): remote backends have one
   * (`secrets.aws`, `secrets.vault`). Without it a call gets the
   * SECRETS_PROVIDER_TIMEOUT_MS deadline only, never a retry.
   */
  readonly upstream?: Upstream;
  /** Where this provider looks for `name`, for not-found messages (e.g. `env (RAMPART_SECRET_MASTER_KEY)`). */
  locate(name: string): string;
  /**
   * The current value of `name`, or undefined when this provider does not have
   * it. Rejects (with a ProviderError whose message carries no value) when the
   * backend fails; the caller then does not fall through to the next provider.
   */
  load(name: string, signal: AbortSignal): Promise<SecretValue | undefined>;
  /** The value before the current one, for backends that keep versions; undefined when there is none. */
  loadPrevious?(name: string, signal: AbortSignal): Promise<SecretValue | undefined>;
  /** Every secret this provider holds, names only. */
  list(signal: AbortSignal): Promise<SecretListing[]>;
  /** Releases connections. */
  close?(): Promise<void> | void;
}
