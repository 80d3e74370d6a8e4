/**
 * The built-in KEK provider definitions (builtins.ts) as the runtime calls
 * them: a missing setting is named in the error of `create` and in the
 * production preflight; a network provider registers its upstream in the
 * runtime's registry when it has one. And the aws-kms provider (SDK mocked
 * with aws-sdk-client-mock; AWS cannot be reached here) on KMS answers that
 * are failures, incomplete or for another key.
 */
import * as KmsSdk from "@aws-sdk/client-kms";
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsKmsKek, CryptoConfigError, DecryptionFailed, KekUnavailableError } from "../../src/crypto/index.js";
import { AWS_KMS_UPSTREAM } from "../../src/crypto/kek/aws-kms.js";
import { awsKmsKekProvider, BUILTIN_KEK_PROVIDERS, localKekProvider, pkcs11KekProvider, vaultTransitKekProvider } from "../../src/crypto/kek/builtins.js";
import type { KekConfig, KekDeps } from "../../src/crypto/kek/providers.js";
import { VAULT_TRANSIT_UPSTREAM } from "../../src/crypto/kek/vault-transit.js";
import { UpstreamRegistry } from "../../src/resilience/index.js";
import { OptionalPackageMissing } from "../../src/config/optional-package.js";
import { fakeKms } from "./fixtures/kms-fake.js";
import { keyringHarness, MemorySecrets, randomKeySecret, type KeyringHarness } from "./helpers.js";

let h: KeyringHarness;
beforeAll(async () => {
  h = await keyringHarness("embedded");
});
afterAll(async () => h?.done());

const deps = (config: Partial<KekConfig>, secrets = new MemorySecrets(), upstreams?: UpstreamRegistry): KekDeps => ({
  config: { ...h.rt.runtime.config, ...config },
  db: h.rt.runtime.db.kysely,
  secrets,
  log: h.rt.runtime.log,
  clock: h.rt.runtime.clock,
  ...(upstreams ? { upstreams } : {}),
});

describe("built-in KEK provider definitions", () => {
  it("lists local, pkcs11, aws-kms and vault-transit, in the documented order", () => {
    expect(BUILTIN_KEK_PROVIDERS.map((p) => p.name)).toEqual(["local", "pkcs11", "aws-kms", "vault-transit"]);
  });

  it("create names the missing setting and the RAMPART_KMS value that needs it", async () => {
    const cases: [typeof pkcs11KekProvider, Partial<KekConfig>, string][] = [
      [pkcs11KekProvider, { pkcs11Module: undefined, pkcs11TokenLabel: "rampart" }, "PKCS11_MODULE: required when RAMPART_KMS=pkcs11"],
      [pkcs11KekProvider, { pkcs11Module: "/nonexistent/libsofthsm2.so", pkcs11TokenLabel: undefined }, "PKCS11_TOKEN_LABEL: required when RAMPART_KMS=pkcs11"],
      [awsKmsKekProvider, { awsKmsKeyId: undefined }, "AWS_KMS_KEY_ID: required when RAMPART_KMS=aws-kms"],
      [vaultTransitKekProvider, { vaultTransitAddr: undefined }, "VAULT_TRANSIT_ADDR: required when RAMPART_KMS=vault-transit"],
    ];
    for (const [provider, config, message] of cases) {
      const err = await provider.create(deps(config, new MemorySecrets({ "pkcs11-pin": "1234" }))).catch((e: unknown) => e);
      expect(err, message).toBeInstanceOf(CryptoConfigError);
      expect((err as Error).message).toContain(message);
      expect((err as Error).message).toContain("instead got nothing");
    }
  });

  it("a network provider registers its upstream in the runtime's registry when given one, and works without one", async () => {
    const registry = new UpstreamRegistry();
    const aws = await awsKmsKekProvider.create(deps({ awsKmsKeyId: "alias/rampart" }, new MemorySecrets(), registry));
    const vault = await vaultTransitKekProvider.create(deps({ vaultTransitAddr: "http://127.0.0.1:1" }, new MemorySecrets({ "vault-token": "t" }), registry));
    expect(registry.get(AWS_KMS_UPSTREAM)).toBeDefined();
    expect(registry.get(VAULT_TRANSIT_UPSTREAM)).toBeDefined();
    expect([aws.name, vault.name]).toEqual(["aws-kms", "vault-transit"]);
    const bare = new UpstreamRegistry();
    const aws2 = await awsKmsKekProvider.create(deps({ awsKmsKeyId: "alias/rampart" }));
    const vault2 = await vaultTransitKekProvider.create(deps({ vaultTransitAddr: "http://127.0.0.1:1" }, new MemorySecrets({ "vault-token": "t" })));
    expect([aws2.name, vault2.name]).toEqual(["aws-kms", "vault-transit"]);
    expect(bare.get(AWS_KMS_UPSTREAM)).toBeUndefined();
    for (const k of [aws, vault, aws2, vault2]) await k.close();
  });

  it("preflight lists every missing setting and secret, and nothing once they are set", async () => {
    const empty = new MemorySecrets();
    const base = h.rt.runtime.config;
    expect(await pkcs11KekProvider.preflight!({ ...base, pkcs11Module: undefined, pkcs11TokenLabel: undefined }, empty)).toEqual([
      "RAMPART_KMS=pkcs11: PKCS11_MODULE is not set",
      "RAMPART_KMS=pkcs11: PKCS11_TOKEN_LABEL is not set",
      "RAMPART_KMS=pkcs11: secret pkcs11-pin is not set",
    ]);
    expect(await pkcs11KekProvider.preflight!({ ...base, pkcs11Module: "/usr/lib/softhsm/libsofthsm2.so", pkcs11TokenLabel: "rampart" }, new MemorySecrets({ "pkcs11-pin": "1234" }))).toEqual([]);
    expect(await awsKmsKekProvider.preflight!({ ...base, awsKmsKeyId: undefined }, empty)).toEqual(["RAMPART_KMS=aws-kms: AWS_KMS_KEY_ID is not set"]);
    expect(await awsKmsKekProvider.preflight!({ ...base, awsKmsKeyId: "alias/rampart" }, empty)).toEqual([]);
    expect(await vaultTransitKekProvider.preflight!({ ...base, vaultTransitAddr: undefined }, empty)).toEqual([
      "RAMPART_KMS=vault-transit: VAULT_TRANSIT_ADDR is not set",
      "RAMPART_KMS=vault-transit: secret vault-token is not set",
    ]);
    expect(await vaultTransitKekProvider.preflight!({ ...base, vaultTransitAddr: "https://vault.example:8200" }, new MemorySecrets({ "vault-token": "t" }))).toEqual([]);
    expect(await localKekProvider.preflight!(base, new MemorySecrets({ "master-key": randomKeySecret() }))).toEqual([]);
    const missing = await localKekProvider.preflight!(base, empty);
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatch(/^RAMPART_KMS=local: /);
  });
});

describe("aws-kms on failed, incomplete and foreign KMS answers", () => {
  const log = () => h.rt.runtime.log;
  /** A KMS client whose answers each test scripts. */
  const scripted = () => {
    const client = new KMSClient({ region: "eu-west-1", credentials: { accessKeyId: "AKIATEST", secretAccessKey: "test" } });
    return { client, mock: mockClient(client) };
  };
  const awsError = (name: string) => new KmsSdk.KMSServiceException({ name, message: name, $fault: "client", $metadata: { httpStatusCode: 400 } });

  it("open loads the SDK first; a deployment without it fails naming the package", async () => {
    const kms = fakeKms();
    const arn = kms.addKey("alias/open");
    const kek = await AwsKmsKek.open({ keyId: "alias/open", client: kms.client, log: log() });
    expect(await kek.current()).toEqual({ provider: "aws-kms", keyId: arn, version: 1 });
    const missing = Object.assign(new Error("Cannot find package '@aws-sdk/client-kms' imported from /app"), { code: "ERR_MODULE_NOT_FOUND" });
    const err = await AwsKmsKek.open({ keyId: "alias/open", log: log() }, async () => Promise.reject(missing)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OptionalPackageMissing);
    expect((err as Error).message).toContain("npm install @aws-sdk/client-kms");
  });

  it("without a client it makes its own (one attempt per call: the upstream retries) and destroys it on close", async () => {
    const kms = fakeKms();
    const arn = kms.addKey("alias/own");
    const made: { options: unknown; destroyed: boolean }[] = [];
    class RecordingClient {
      readonly record: { options: unknown; destroyed: boolean };
      constructor(options: unknown) {
        this.record = { options, destroyed: false };
        made.push(this.record);
      }
      send(command: never, options?: never) {
        return kms.client.send(command, options);
      }
      destroy() {
        this.record.destroyed = true;
      }
    }
    const kek = new AwsKmsKek({ keyId: "alias/own", log: log() }, { ...KmsSdk, KMSClient: RecordingClient as unknown as typeof KMSClient });
    expect(made).toHaveLength(0);
    expect((await kek.current()).keyId).toBe(arn);
    await kek.generateDataKey({ a: "b" });
    expect(made).toEqual([{ options: { maxAttempts: 1 }, destroyed: false }]);
    await kek.close();
    expect(made[0]!.destroyed).toBe(true);
  });

  it("DescribeKey failing, or answering without an ARN, is KekUnavailableError naming the call", async () => {
    const { client, mock } = scripted();
    mock.on(DescribeKeyCommand).rejectsOnce(awsError("AccessDeniedException")).resolves({ KeyMetadata: { KeyId: "k" } });
    const kek = new AwsKmsKek({ keyId: "alias/none", client, log: log() });
    const failed = await kek.current().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(KekUnavailableError);
    expect((failed as Error).message).toContain("AWS KMS DescribeKey failed: AccessDeniedException");
    const noArn = await kek.current().catch((e: unknown) => e);
    expect(noArn).toBeInstanceOf(KekUnavailableError);
    expect((noArn as Error).message).toBe("AWS KMS DescribeKey returned no ARN for alias/none");
    // rotate needs the ARN first: the same failure, and RotateKeyOnDemand is never sent.
    await expect(kek.rotate()).rejects.toBeInstanceOf(KekUnavailableError);
    expect(mock.commandCalls(RotateKeyOnDemandCommand)).toHaveLength(0);
  });

  it("incomplete GenerateDataKey and Encrypt answers, and failed Encrypt and RotateKeyOnDemand calls, are KekUnavailableError", async () => {
    const { client, mock } = scripted();
    const arn = "arn:aws:kms:eu-west-1:111122223333:key/abc";
    mock.on(GenerateDataKeyCommand).resolves({ KeyId: arn, CiphertextBlob: new Uint8Array(8) });
    mock.on(EncryptCommand).resolvesOnce({ KeyId: arn }).rejects(awsError("DisabledException"));
    mock.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: "abc", Arn: arn } });
    mock.on(RotateKeyOnDemandCommand).rejects(awsError("LimitExceededException"));
    const kek = new AwsKmsKek({ keyId: "alias/x", client, log: log() });
    await expect(kek.generateDataKey({ a: "b" })).rejects.toThrow("AWS KMS GenerateDataKey returned an incomplete response");
    await expect(kek.wrap(Buffer.alloc(32), { a: "b" })).rejects.toThrow("AWS KMS Encrypt returned an incomplete response");
    const encrypt = await kek.wrap(Buffer.alloc(32), { a: "b" }).catch((e: unknown) => e);
    expect(encrypt).toBeInstanceOf(KekUnavailableError);
    expect((encrypt as Error).message).toContain("AWS KMS Encrypt failed: DisabledException");
    const rotate = await kek.rotate().catch((e: unknown) => e);
    expect(rotate).toBeInstanceOf(KekUnavailableError);
    expect((rotate as Error).message).toContain("AWS KMS RotateKeyOnDemand failed: LimitExceededException");
  });

  it("a Decrypt answer for another key, without plaintext, or of the wrong length is DecryptionFailed", async () => {
    const { client, mock } = scripted();
    const arn = "arn:aws:kms:eu-west-1:111122223333:key/abc";
    mock
      .on(DecryptCommand)
      .resolvesOnce({ KeyId: "arn:aws:kms:eu-west-1:111122223333:key/other", Plaintext: new Uint8Array(32) })
      .resolvesOnce({ KeyId: arn })
      .resolvesOnce({ KeyId: arn, Plaintext: new Uint8Array(16) })
      .resolves({ KeyId: arn, Plaintext: new Uint8Array(32).fill(5) });
    const kek = new AwsKmsKek({ keyId: arn, client, log: log() });
    const ref = { provider: "aws-kms", keyId: arn, version: 1 };
    for (let i = 0; i < 3; i++) await expect(kek.unwrap(ref, Buffer.alloc(40), { a: "b" })).rejects.toBeInstanceOf(DecryptionFailed);
    // The well-formed answer is passed through.
    expect(await kek.unwrap(ref, Buffer.alloc(40), { a: "b" })).toEqual(Buffer.alloc(32, 5));
  });
});
