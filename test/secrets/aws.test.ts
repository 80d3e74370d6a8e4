/**
 * The `aws:<prefix>` provider against the real SecretsManagerClient with its
 * transport replaced by aws-sdk-client-mock (AWS cannot be reached here):
 * secret ids, version stages, version ids, not-found and error handling, listing.
 */
import { GetSecretValueCommand, ListSecretsCommand, ResourceNotFoundException, SecretsManagerClient, SecretsManagerServiceException } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SecretLoadError, SecretNotFoundError } from "../../src/secrets/index.js";
import { events, harness, type Harness } from "./helpers.js";

const sm = mockClient(SecretsManagerClient);
let h: Harness;

function notFound(): ResourceNotFoundException {
  return new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: { httpStatusCode: 400 } });
}

beforeEach(() => {
  sm.reset();
  sm.onAnyCommand().rejects(notFound());
  h = harness({ configEnv: { RAMPART_SECRETS: "aws:rampart/test/", AWS_REGION: "eu-west-1" } });
});

afterEach(async () => {
  await h.secrets.close();
});

describe("aws provider", () => {
  it("(AWS mocked: GetSecretValue) reads <prefix><name> at AWSCURRENT and reports the VersionId", async () => {
    sm.on(GetSecretValueCommand, { SecretId: "rampart/test/jwt-signing", VersionStage: "AWSCURRENT" }).resolves({
      Name: "rampart/test/jwt-signing",
      SecretString: "aws-jwt-signing-key",
      VersionId: "11111111-aaaa-4bbb-8ccc-000000000001",
      VersionStages: ["AWSCURRENT"],
      CreatedDate: new Date("2026-01-01T00:00:00Z"),
    });
    expect(await h.secrets.get("jwt-signing")).toBe("aws-jwt-signing-key");
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: "rampart/test/jwt-signing", VersionStage: "AWSCURRENT" });
    expect(events(h.logs, "secret.loaded")[0]).toMatchObject({ secretName: "jwt-signing", provider: "aws:rampart/test/", version: "11111111-aaaa-4bbb-8ccc-000000000001" });
  });

  it("(AWS mocked: GetSecretValue) decodes a SecretBinary as UTF-8", async () => {
    sm.on(GetSecretValueCommand, { SecretId: "rampart/test/master-key" }).resolves({ SecretBinary: new TextEncoder().encode("binary-master-key"), VersionId: "v-bin" });
    expect(await h.secrets.get("master-key")).toBe("binary-master-key");
  });

  it("(AWS mocked: ResourceNotFoundException) is a missing secret naming the secret id", async () => {
    const err = await h.secrets.get("absent").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect((err as Error).message).toBe('secret "absent" not found; looked in: aws:rampart/test/ (SecretId rampart/test/absent)');
  });

  it("(AWS mocked: AccessDeniedException) is a load error with AWS's reason", async () => {
    sm.on(GetSecretValueCommand).rejects(
      new SecretsManagerServiceException({ name: "AccessDeniedException", $fault: "client", message: "User is not authorized to perform secretsmanager:GetSecretValue", $metadata: { httpStatusCode: 400 } }),
    );
    const err = await h.secrets.get("jwt-signing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretLoadError);
    expect((err as Error).message).toBe(
      'secret "jwt-signing" could not be loaded from aws:rampart/test/: GetSecretValue AWSCURRENT failed: AccessDeniedException (HTTP 400): User is not authorized to perform secretsmanager:GetSecretValue',
    );
  });

  it("(AWS mocked: AWSPREVIOUS) getPrevious reads the previous version stage", async () => {
    sm.on(GetSecretValueCommand, { SecretId: "rampart/test/stripe-webhook", VersionStage: "AWSCURRENT" }).resolves({ SecretString: "whsec-current", VersionId: "v2" });
    sm.on(GetSecretValueCommand, { SecretId: "rampart/test/stripe-webhook", VersionStage: "AWSPREVIOUS" }).resolves({ SecretString: "whsec-previous", VersionId: "v1" });
    expect(await h.secrets.get("stripe-webhook")).toBe("whsec-current");
    expect(await h.secrets.getPrevious("stripe-webhook")).toBe("whsec-previous");
  });

  it("(AWS mocked: no AWSPREVIOUS yet) getPrevious is undefined before the first rotation", async () => {
    sm.on(GetSecretValueCommand, { SecretId: "rampart/test/stripe-webhook", VersionStage: "AWSCURRENT" }).resolves({ SecretString: "whsec-current", VersionId: "v1" });
    expect(await h.secrets.getPrevious("stripe-webhook")).toBeUndefined();
  });

  it("(AWS mocked: rotation) a new AWSCURRENT version fires onRotate and logs both versions", async () => {
    sm.on(GetSecretValueCommand, { SecretId: "rampart/test/database-url" })
      .resolvesOnce({ SecretString: "postgres://u:first@db/app", VersionId: "v-1" })
      .resolves({ SecretString: "postgres://u:second@db/app", VersionId: "v-2" });
    const cb = vi.fn();
    await h.secrets.get("database-url");
    h.secrets.onRotate("database-url", cb);
    await h.secrets.refresh("database-url");
    expect(cb).toHaveBeenCalledExactlyOnceWith("postgres://u:second@db/app");
    expect(events(h.logs, "secret.rotated")[0]).toMatchObject({ secretName: "database-url", provider: "aws:rampart/test/", version: "v-2", previousVersion: "v-1" });
  });

  it("(AWS mocked: ListSecrets) lists names under the prefix across pages, with the AWSCURRENT version", async () => {
    sm.on(ListSecretsCommand)
      .resolvesOnce({
        SecretList: [
          { Name: "rampart/test/jwt-signing", SecretVersionsToStages: { "v-old": ["AWSPREVIOUS"], "v-new": ["AWSCURRENT"] }, LastChangedDate: new Date("2026-01-01T00:00:00Z") },
          { Name: "rampart/testing/other", SecretVersionsToStages: { x: ["AWSCURRENT"] } },
        ],
        NextToken: "page-2",
      })
      .resolvesOnce({ SecretList: [{ Name: "rampart/test/master-key", SecretVersionsToStages: { "v-m": ["AWSCURRENT"] } }] });
    const { secrets, errors } = await h.secrets.list();
    expect(errors).toEqual([]);
    expect(secrets).toEqual([
      { name: "jwt-signing", provider: "aws:rampart/test/", version: "v-new", updatedAt: "2026-01-01T00:00:00.000Z", ageSeconds: 0, shadowed: [] },
      { name: "master-key", provider: "aws:rampart/test/", version: "v-m", updatedAt: null, ageSeconds: null, shadowed: [] },
    ]);
    const calls = sm.commandCalls(ListSecretsCommand).map((c) => c.args[0].input);
    expect(calls[0]).toMatchObject({ Filters: [{ Key: "name", Values: ["rampart/test/"] }] });
    expect(calls[1]).toMatchObject({ NextToken: "page-2" });
  });
});
