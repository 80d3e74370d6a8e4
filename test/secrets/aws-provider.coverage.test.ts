/**
 * The `aws:<prefix>` provider itself, with a client the host app made
 * (awsClientHandle) over the real SecretsManagerClient whose transport is
 * replaced by aws-sdk-client-mock (AWS cannot be reached here): answers
 * without a value, version or date, AWS errors and how they are reported,
 * listing without a prefix, and a missing SDK.
 */
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient, SecretsManagerServiceException } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { AwsSecretsProvider, awsClientHandle, type AwsClientHandle } from "../../src/secrets/index.js";
import { loadSecretsManagerSdk } from "../../src/secrets/providers/aws.js";
import { ProviderError } from "../../src/secrets/errors.js";

const sm = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: "eu-west-1" });
const signal = new AbortController().signal;
const provider = (prefix = "rampart/test/", connect: () => Promise<AwsClientHandle> = () => awsClientHandle(client)) => new AwsSecretsProvider(connect, prefix);

const rejection = async (p: Promise<unknown>): Promise<ProviderError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
};

beforeEach(() => {
  sm.reset();
});
afterAll(() => {
  sm.restore();
  client.destroy();
});

describe("aws provider with the host app's client", () => {
  it("(AWS mocked: GetSecretValue) reads through a client the app made; no VersionId or CreatedDate gives a bare value", async () => {
    sm.on(GetSecretValueCommand, { SecretId: "rampart/test/api-key", VersionStage: "AWSCURRENT" }).resolves({ SecretString: "value-without-metadata" });
    expect(await provider().load("api-key", signal)).toEqual({ value: "value-without-metadata" });
  });

  it("(AWS mocked: GetSecretValue) an answer with neither SecretString nor SecretBinary is no value", async () => {
    sm.on(GetSecretValueCommand).resolves({ Name: "rampart/test/api-key", VersionId: "v1" });
    expect(await provider().load("api-key", signal)).toBeUndefined();
    expect(await provider().loadPrevious("api-key", signal)).toBeUndefined();
  });

  it("(AWS mocked: errors) AWS's reason is reported with its status; a long message is cut; a message equal to the name is not repeated", async () => {
    const p = provider();
    sm.on(GetSecretValueCommand).rejects(new SecretsManagerServiceException({ name: "ThrottlingException", $fault: "client", message: "x".repeat(400), $metadata: { httpStatusCode: 429 } }));
    const long = await rejection(p.load("api-key", signal));
    expect(long.message).toBe(`GetSecretValue AWSCURRENT failed: ThrottlingException (HTTP 429): ${"x".repeat(300)}...`);

    sm.reset();
    sm.on(GetSecretValueCommand).rejects(new SecretsManagerServiceException({ name: "InternalServiceError", $fault: "server", message: "InternalServiceError", $metadata: {} }));
    const bare = await rejection(p.loadPrevious("api-key", signal));
    expect(bare.message).toBe("GetSecretValue AWSPREVIOUS failed: InternalServiceError");
  });

  it("(AWS mocked: errors) a thrown value that is not an Error is an unknown error", async () => {
    sm.on(GetSecretValueCommand).callsFake(() => Promise.reject("not an Error object"));
    const err = await rejection(provider().load("api-key", signal));
    expect(err.message).toBe("GetSecretValue AWSCURRENT failed: unknown error");
    expect(err.message).not.toContain("not an Error object");
  });

  it("(AWS mocked: ListSecrets) without a prefix lists every valid name, without a filter; an empty page ends the list", async () => {
    sm.on(ListSecretsCommand)
      .resolvesOnce({
        SecretList: [
          { Name: "jwt-signing", SecretVersionsToStages: { "v-old": ["AWSPREVIOUS"] } },
          { Name: "Not A Valid Name!" },
          { Name: "master-key" },
          {},
        ],
        NextToken: "page-2",
      })
      .resolvesOnce({});
    expect(await provider("").list(signal)).toEqual([{ name: "jwt-signing" }, { name: "master-key" }]);
    const calls = sm.commandCalls(ListSecretsCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[0]).not.toHaveProperty("Filters");
    expect(calls[1]).toMatchObject({ NextToken: "page-2" });
  });

  it("(AWS mocked: ListSecrets) a failed listing is a provider error with AWS's reason", async () => {
    sm.on(ListSecretsCommand).rejects(new SecretsManagerServiceException({ name: "AccessDeniedException", $fault: "client", message: "not allowed to list", $metadata: { httpStatusCode: 400 } }));
    const err = await rejection(provider().list(signal));
    expect(err.message).toBe("ListSecrets failed: AccessDeniedException (HTTP 400): not allowed to list");
    expect(err.transient).toBe(false);
  });
});

describe("aws provider without the SDK", () => {
  // Resolved from a directory with no node_modules above it: Node's own "cannot find module".
  const nowhere = createRequire(join(tmpdir(), "rampart-no-packages", "x.js"));

  it("a missing SDK is a permanent provider error naming the package; any other connect failure passes as it is", async () => {
    const missing = await rejection(provider("rampart/test/", async () => ({ sdk: await loadSecretsManagerSdk(async (s) => nowhere(s)), client })).load("api-key", signal));
    expect(missing.message).toContain("@aws-sdk/client-secrets-manager");
    expect(missing.transient).toBe(false);

    const broken = new Error("credentials provider exploded");
    await expect(provider("rampart/test/", () => Promise.reject(broken)).list(signal)).rejects.toBe(broken);
  });
});
