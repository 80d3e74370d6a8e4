/**
 * The upstreams of the remote secrets backends: `secrets.aws` (every `aws:`
 * entry of the chain, one AWS account) and `secrets.vault` (every `vault:`
 * entry, one Vault server). Each attempt has the SECRETS_PROVIDER_TIMEOUT_MS
 * deadline; reads are idempotent, so a transient failure is retried twice
 * with jittered backoff; five failures in a row open a circuit breaker for
 * 10 s, during which loads fail at once and the cache serves stale values
 * (stale-if-error) instead of every reader waiting for a dead backend.
 *
 * Only failures count: a transient ProviderError (no answer, 5xx, throttled)
 * or an error that is not a ProviderError at all. A backend that answers
 * "denied" or returns malformed data is not retried.
 */
import { createUpstream, type Upstream, type UpstreamOptions } from "../resilience/index.js";
import { ProviderError } from "./errors.js";

export const SECRETS_AWS_UPSTREAM = "secrets.aws";
export const SECRETS_VAULT_UPSTREAM = "secrets.vault";

/** SECRETS_PROVIDER_TIMEOUT_MS's default, for providers built outside a secrets service. */
const DEFAULT_TIMEOUT_MS = 5_000;

export function isProviderFailure(err: unknown): boolean {
  return !(err instanceof ProviderError) || err.transient;
}

/** Settings of a secrets backend's upstream. */
export function secretsUpstreamOptions(timeoutMs: number): UpstreamOptions {
  return {
    timeoutMs,
    retries: 2,
    backoff: { initialDelayMs: 100, maxDelayMs: 2_000 },
    breaker: { kind: "consecutive", failures: 5, halfOpenAfterMs: 10_000 },
    isFailure: isProviderFailure,
  };
}

/** The upstream a provider was given, or a private one with the default settings (a provider built on its own). */
export function providerUpstream(name: string, given: Upstream | undefined): Upstream {
  return given ?? createUpstream(name, secretsUpstreamOptions(DEFAULT_TIMEOUT_MS));
}
