/**
 * The `aws:` provider behind its `secrets.aws` upstream, with the real
 * SecretsManagerClient whose transport is mocked (aws-sdk-client-mock; AWS
 * cannot be reached here): transient errors are retried, every attempt gets
 * an abortSignal that fires at SECRETS_PROVIDER_TIMEOUT_MS, AccessDenied is
 * an answer, and a failing service opens the breaker while the cache serves
 * stale values.
 */
import { GetSecretValueCommand, InternalServiceError, SecretsManagerClient, SecretsManagerServiceException } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UpstreamRegistry, type Upstream } from "../../src/resilience/index.js";
import { SecretLoadError } from "../../src/secrets/index.js";
import { harness, type Harness } from "./helpers.js";

const TIMEOUT_MS = 150;
const SECOND = 1000;
const TTL = 300 * SECOND;
const sm = mockClient(SecretsManagerClient);
let h: Harness;
let upstream: Upstream;

const internal = () => new InternalServiceError({ message: "An error occurred on the server side.", $metadata: { httpStatusCode: 500 } });
const throttled = () => new SecretsManagerServiceException({ name: "ThrottlingException", $fault: "client", message: "Rate exceeded", $metadata: { httpStatusCode: 400 } });
const denied = () =>
  new SecretsManagerServiceException({ name: "AccessDeniedException", $fault: "client", message: "User is not authorized to perform secretsmanager:GetSecretValue", $metadata: { httpStatusCode: 400 } });

/** The options (second argument) of each GetSecretValue the SDK client was sent. */
const sendOptions = () => sm.commandCalls(GetSecretValueCommand).map((c) => (c.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined);

beforeEach(() => {
  sm.reset();
  const upstreams = new UpstreamRegistry({}, { "secrets.aws": { backoff: { initialDelayMs: 10, maxDelayMs: 30 }, breaker: { kind: "consecutive", failures: 3, halfOpenAfterMs: 60_000 } } });
  h = harness({ configEnv: { RAMPART_SECRETS: "aws:rampart/test/", AWS_REGION: "eu-west-1", SECRETS_PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS) }, upstreams });
  upstream = upstreams.get("secrets.aws")!;
});

afterEach(async () => {
  await h.secrets.close();
});

describe("aws provider through the secrets.aws upstream", () => {
  it("(mocked AWS SDK) retries InternalServiceError and ThrottlingException: three GetSecretValue calls, each with an abortSignal", async () => {
    sm.on(GetSecretValueCommand).rejectsOnce(internal()).rejectsOnce(throttled()).resolves({ SecretString: "aws-jwt-signing-key", VersionId: "v1" });
    expect(await h.secrets.get("jwt-signing")).toBe("aws-jwt-signing-key");
    const options = sendOptions();
    expect(options).toHaveLength(3);
    for (const o of options) expect(o?.abortSignal).toBeInstanceOf(AbortSignal);
    expect(upstream.stats()).toMatchObject({ retries: 2, successes: 1 });
  });

  it("(mocked AWS SDK) AccessDeniedException is an answer: one call per load, the breaker stays closed", async () => {
    sm.on(GetSecretValueCommand).rejects(denied());
    for (let i = 0; i < 4; i++) await expect(h.secrets.refresh("jwt-signing")).rejects.toThrow("AccessDeniedException (HTTP 400)");
    expect(sendOptions()).toHaveLength(4);
    expect(upstream.breakerState).toBe("closed");
  });

  it("(mocked AWS SDK) a call that never answers is cut off at SECRETS_PROVIDER_TIMEOUT_MS with its abortSignal fired, and the cached value is served stale", async () => {
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: "aws-jwt-signing-key", VersionId: "v1" }).callsFake(() => new Promise(() => undefined));
    expect(await h.secrets.get("jwt-signing")).toBe("aws-jwt-signing-key");
    h.clock.advance(TTL + SECOND);
    const started = performance.now();
    expect(await h.secrets.get("jwt-signing")).toBe("aws-jwt-signing-key");
    expect(performance.now() - started).toBeGreaterThanOrEqual(3 * TIMEOUT_MS - 10);
    const hung = sendOptions().slice(1);
    expect(hung).toHaveLength(3);
    expect(hung.every((o) => o?.abortSignal?.aborted === true)).toBe(true);
    expect(h.secrets.stats()).toMatchObject({ staleServes: 1, loadErrors: 1 });
    expect(upstream.stats().timeouts).toBe(3);
  });

  it("(mocked AWS SDK) a failing Secrets Manager opens the breaker: the next load is refused without calling the SDK", async () => {
    sm.on(GetSecretValueCommand).rejects(internal());
    const err = await h.secrets.get("jwt-signing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretLoadError);
    expect(sendOptions()).toHaveLength(3);
    expect(upstream.breakerState).toBe("open");
    await expect(h.secrets.refresh("jwt-signing")).rejects.toThrow("could not be loaded from aws:rampart/test/: upstream 'secrets.aws': circuit breaker open");
    expect(sendOptions()).toHaveLength(3);
  });
});
