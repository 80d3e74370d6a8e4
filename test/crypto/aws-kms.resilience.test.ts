/**
 * The aws-kms KEK behind its `kms.aws` upstream. AWS cannot be reached here:
 * the SDK's client is mocked (aws-sdk-client-mock, the KMS fake) for retries,
 * the breaker and the error classification, and one test runs the real SDK
 * against a local HTTP server that hangs, to see the attempt's abortSignal
 * stop the request on the wire.
 */
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsKmsKek, DecryptionFailed, KekUnavailableError } from "../../src/crypto/index.js";
import { AWS_KMS_UPSTREAM, awsKmsUpstreamOptions } from "../../src/crypto/kek/aws-kms.js";
import { createUpstream, upstreamFailure, type Upstream, type UpstreamOptions } from "../../src/resilience/index.js";
import { mapError } from "../../src/server/plugins/errors.js";
import { FlakyServer } from "../resilience/flaky-server.js";
import { fakeKms } from "./fixtures/kms-fake.js";
import { failure, sleep } from "../helpers/async.js";

const TIMEOUT_MS = 150;
const HALF_OPEN_MS = 300;
const ctx = { "rampart:purpose": "dek" };
const log = pino({ level: "silent" });
const kms = fakeKms();
kms.addKey("alias/rampart");

function upstream(overrides: Partial<UpstreamOptions> = {}): Upstream {
  return createUpstream(AWS_KMS_UPSTREAM, {
    ...awsKmsUpstreamOptions(),
    timeoutMs: TIMEOUT_MS,
    backoff: { initialDelayMs: 10, maxDelayMs: 30 },
    breaker: { kind: "consecutive", failures: 3, halfOpenAfterMs: HALF_OPEN_MS },
    ...overrides,
  });
}

const kek = (u: Upstream, client: KMSClient = kms.client) => new AwsKmsKek({ keyId: "alias/rampart", client, log, upstream: u });

describe("aws-kms KEK through the kms.aws upstream", () => {
  it("(mocked AWS SDK) retries KMSInternalException and ThrottlingException with backoff: KMS sees three Decrypts, each with an abortSignal", async () => {
    const u = upstream();
    const k = kek(u);
    const generated = await k.generateDataKey(ctx);
    kms.mock.resetHistory();
    kms.failNext("Decrypt", "KMSInternalException");
    kms.failNext("Decrypt", "ThrottlingException");
    expect((await k.unwrap(generated.ref, generated.wrapped, ctx)).equals(generated.dek)).toBe(true);
    const calls = kms.mock.commandCalls(DecryptCommand);
    expect(calls).toHaveLength(3);
    for (const call of calls) expect((call.args as unknown[])[1]).toMatchObject({ abortSignal: expect.any(AbortSignal) });
    expect(u.stats()).toMatchObject({ retries: 2, failures: 0 });
  });

  it("(mocked AWS SDK) AccessDenied, a disabled key and an invalid ciphertext are answers: tried once, the breaker stays closed", async () => {
    const u = upstream();
    const k = kek(u);
    const generated = await k.generateDataKey(ctx);
    kms.mock.resetHistory();
    for (const name of ["AccessDeniedException", "DisabledException", "KMSInvalidStateException", "AccessDeniedException"]) {
      kms.failNext("GenerateDataKey", name);
      const err = await failure(k.generateDataKey(ctx));
      expect(err).toBeInstanceOf(KekUnavailableError);
      // Refused credentials or a disabled key need an operator, not a retry later: not a 503.
      expect(mapError(err).code).toBe("INTERNAL_ERROR");
    }
    for (let i = 0; i < 4; i++) {
      kms.failNext("Decrypt", "InvalidCiphertextException");
      await expect(k.unwrap(generated.ref, generated.wrapped, ctx)).rejects.toBeInstanceOf(DecryptionFailed);
    }
    expect(kms.mock.commandCalls(GenerateDataKeyCommand)).toHaveLength(4);
    expect(kms.mock.commandCalls(DecryptCommand)).toHaveLength(4);
    expect(u.breakerState).toBe("closed");
    expect(u.stats().retries).toBe(0);
  });

  it("(mocked AWS SDK) a KMS that keeps failing opens the breaker: calls are refused without reaching the SDK, then a trial call after the cooldown closes it", async () => {
    const u = upstream({ retries: 0 });
    const k = kek(u);
    kms.mock.resetHistory();
    kms.failNext("GenerateDataKey", "KMSInternalException", 3);
    for (let i = 0; i < 3; i++) expect(mapError(await failure(k.generateDataKey(ctx))).code).toBe("SERVICE_UNAVAILABLE");
    expect(u.breakerState).toBe("open");
    const refused = await failure(k.generateDataKey(ctx));
    expect(upstreamFailure(refused.cause)?.kind).toBe("breaker_open");
    expect(mapError(refused).code).toBe("SERVICE_UNAVAILABLE");
    expect(kms.mock.commandCalls(GenerateDataKeyCommand)).toHaveLength(3);
    await sleep(HALF_OPEN_MS + 50);
    expect((await k.generateDataKey(ctx)).dek).toHaveLength(32);
    expect(kms.mock.commandCalls(GenerateDataKeyCommand)).toHaveLength(4);
    expect(u.breakerState).toBe("closed");
  });

  it("(mocked AWS SDK) a call that never answers is cut off at the deadline: its abortSignal fires and the client sees a 503", async () => {
    const signals: AbortSignal[] = [];
    const hanging = {
      send: (_command: unknown, options: { abortSignal: AbortSignal }) =>
        new Promise((_, reject) => {
          signals.push(options.abortSignal);
          options.abortSignal.addEventListener("abort", () => reject(Object.assign(new Error("Request aborted"), { name: "AbortError" })));
        }),
      destroy() {},
    } as unknown as KMSClient;
    const u = upstream({ retries: 1 });
    const started = performance.now();
    const err = await failure(kek(u, hanging).generateDataKey(ctx));
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(KekUnavailableError);
    expect(upstreamFailure(err.cause)?.kind).toBe("timeout");
    expect(mapError(err).code).toBe("SERVICE_UNAVAILABLE");
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(2 * TIMEOUT_MS - 10);
    expect(elapsed).toBeLessThan(2 * TIMEOUT_MS + 1_000);
  });
});

describe("aws-kms KEK with the real SDK against a local HTTP server", () => {
  let server: FlakyServer;
  beforeAll(async () => {
    server = await FlakyServer.start();
  });
  afterAll(() => server.close());

  it("(AWS SDK, local hanging endpoint) the deadline aborts the HTTP request the SDK made", async () => {
    server.mode = "hang";
    const client = new KMSClient({ endpoint: server.url, region: "eu-west-1", credentials: { accessKeyId: "AKIATEST", secretAccessKey: "test" }, maxAttempts: 1 });
    const u = upstream({ retries: 0 });
    const err = await failure(kek(u, client).generateDataKey(ctx));
    expect(upstreamFailure(err.cause)?.kind).toBe("timeout");
    expect(server.hits).toBe(1);
    expect(await server.abandonedAtLeast(1)).toBe(1);
    client.destroy();
  });
});
