/**
 * Which errors mean "the upstream failed" (worth a retry, counted by the
 * circuit breaker) rather than "the upstream answered no" (a 4xx: denied,
 * not found, invalid input), for the `isFailure` option of the built-in
 * upstreams. Retrying or tripping a breaker on an answer would only repeat
 * it and cut every other caller off because of one bad request.
 */

/** 5xx, 429 Too Many Requests and 408 Request Timeout: the server could not answer now. */
export function isTransientHttpStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * Error names AWS services use for throttling (HTTP 400 with a client fault,
 * yet a reason to slow down and retry): the list of the SDK's own retry
 * strategy (the throttling codes of `@smithy/core`'s retry module).
 */
const AWS_THROTTLING = new Set([
  "BandwidthLimitExceeded",
  "EC2ThrottledException",
  "LimitExceededException",
  "PriorRequestNotComplete",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "ThrottledException",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "TransactionInProgressException",
]);

/** Timeouts the SDK or AWS report by name. */
const AWS_TRANSIENT = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException"]);

interface AwsErrorShape {
  name?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/**
 * An AWS SDK v3 error that is the service failing: throttling, a server
 * fault or 5xx, a timeout, or no answer at all (connection refused, DNS, a
 * reset: errors without `$fault`, which every modelled service exception
 * carries). AccessDenied, a disabled key, an invalid ciphertext and other
 * client faults are answers, not failures.
 */
export function isTransientAwsError(err: unknown): boolean {
  if (err === null || typeof err !== "object") return true;
  const e = err as AwsErrorShape;
  const name = e.name ?? "";
  if (AWS_THROTTLING.has(name) || AWS_TRANSIENT.has(name) || e.$retryable !== undefined) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && isTransientHttpStatus(status)) return true;
  if (e.$fault === "server") return true;
  return e.$fault === undefined && status === undefined;
}
