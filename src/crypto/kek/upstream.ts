/**
 * The resilience of network KEK providers (AWS KMS, Vault Transit): every
 * call goes through an upstream (src/resilience) named `kms.aws` or
 * `kms.vault-transit`, so a slow KMS is cut off at a deadline, a transient
 * failure of an idempotent call (generate, wrap, unwrap) is retried with
 * jittered backoff, and a failing KMS trips a circuit breaker that refuses
 * further calls at once instead of letting every request wait for it.
 * PKCS#11 and the local KEK are not network upstreams and do not use this.
 *
 * Only failures count: a KMS that answers no (access denied, key disabled,
 * invalid ciphertext) is an answer, neither retried nor counted by the
 * breaker (each provider passes its own classification).
 */
import { upstreamFailure, type UpstreamOptions } from "../../resilience/index.js";
import { KekUnavailableError } from "../errors.js";

/** Per-attempt deadline of a KMS call: they sit on the request path (a data key generated or unwrapped on a cache miss). */
export const KMS_TIMEOUT_MS = 5_000;

/**
 * A KMS that timed out, kept failing (5xx, throttling, network) or is behind
 * an open breaker. Still a KekUnavailableError (an outage is not a bad
 * ciphertext), and the HTTP error handler answers it 503 SERVICE_UNAVAILABLE
 * (it maps any error whose statusCode is 503 so), where a KMS that refuses
 * Rampart's credentials stays a 500: that one needs an operator.
 */
export class KmsUnavailableError extends KekUnavailableError {
  readonly statusCode = 503;
}

/** Settings of a KMS upstream: 2 retries from 50 ms (capped at 1 s), breaker after 5 consecutive failures for 10 s. */
export function kmsUpstreamOptions(isFailure: (err: unknown) => boolean, timeoutMs = KMS_TIMEOUT_MS): UpstreamOptions {
  return {
    timeoutMs,
    retries: 2,
    backoff: { initialDelayMs: 50, maxDelayMs: 1_000 },
    breaker: { kind: "consecutive", failures: 5, halfOpenAfterMs: 10_000 },
    isFailure,
  };
}

/**
 * The error for a failed KMS call: a KmsUnavailableError (503) when the
 * upstream refused or timed out, or `isFailure` says the KMS failed; a plain
 * KekUnavailableError for an answer such as access denied. `label` names the
 * call (`AWS KMS Decrypt`); `describe` says what went wrong without payload.
 */
export function kmsCallError(label: string, err: unknown, isFailure: (err: unknown) => boolean, describe: (err: Error) => string): KekUnavailableError {
  const refused = upstreamFailure(err);
  const reason = refused ? refused.message : err instanceof Error ? describe(err) : String(err);
  const message = `${label} failed: ${reason}`;
  return refused || isFailure(err) ? new KmsUnavailableError(message, { cause: err }) : new KekUnavailableError(message, { cause: err });
}
