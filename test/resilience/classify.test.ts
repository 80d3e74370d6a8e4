/**
 * Which errors the built-in upstreams count as the upstream failing: AWS SDK
 * errors as the SDK's own exception classes build them (their `$fault` comes
 * from the service model), Node network errors, HTTP statuses.
 */
import { DecryptionFailure, InternalServiceError, ResourceNotFoundException, SecretsManagerServiceException } from "@aws-sdk/client-secrets-manager";
import { DependencyTimeoutException, DisabledException, InvalidCiphertextException, KMSInternalException, KMSInvalidStateException, KMSServiceException } from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";
import { isTransientAwsError, isTransientHttpStatus } from "../../src/resilience/index.js";

const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

describe("isTransientAwsError", () => {
  it("server faults, throttling and timeouts are failures", () => {
    expect(isTransientAwsError(new KMSInternalException({ message: "internal", ...metadata(500) }))).toBe(true);
    expect(isTransientAwsError(new DependencyTimeoutException({ message: "timeout", ...metadata(503) }))).toBe(true);
    expect(isTransientAwsError(new InternalServiceError({ message: "internal", ...metadata(500) }))).toBe(true);
    // Throttling is a 400 with a client fault, and still a reason to back off and retry.
    expect(isTransientAwsError(new KMSServiceException({ name: "ThrottlingException", $fault: "client", message: "Rate exceeded", ...metadata(400) }))).toBe(true);
    expect(isTransientAwsError(Object.assign(new Error("socket timed out"), { name: "TimeoutError" }))).toBe(true);
  });

  it("no answer at all (connection refused, DNS) is a failure", () => {
    expect(isTransientAwsError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:443"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isTransientAwsError(Object.assign(new Error("getaddrinfo ENOTFOUND kms.eu-west-1.amazonaws.com"), { code: "ENOTFOUND" }))).toBe(true);
  });

  it("access denied, a disabled key, a bad ciphertext or a missing secret are answers, not failures", () => {
    // Errors a service does not model (AccessDenied here) come as its base exception with the answer's fault.
    expect(isTransientAwsError(new SecretsManagerServiceException({ name: "AccessDeniedException", $fault: "client", message: "not authorized", ...metadata(400) }))).toBe(false);
    expect(isTransientAwsError(new DisabledException({ message: "key is disabled", ...metadata(400) }))).toBe(false);
    expect(isTransientAwsError(new KMSInvalidStateException({ message: "pending deletion", ...metadata(400) }))).toBe(false);
    expect(isTransientAwsError(new InvalidCiphertextException({ message: "invalid", ...metadata(400) }))).toBe(false);
    expect(isTransientAwsError(new DecryptionFailure({ message: "cannot decrypt", ...metadata(400) }))).toBe(false);
    expect(isTransientAwsError(new ResourceNotFoundException({ message: "no such secret", ...metadata(400) }))).toBe(false);
  });
});

describe("isTransientHttpStatus", () => {
  it("5xx, 429 and 408 are failures; other 4xx are answers", () => {
    expect([500, 502, 503, 504, 429, 408].map(isTransientHttpStatus)).toEqual([true, true, true, true, true, true]);
    expect([400, 401, 403, 404, 409, 422].map(isTransientHttpStatus)).toEqual([false, false, false, false, false, false]);
  });
});
