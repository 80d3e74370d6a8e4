/**
 * The aws-kms provider against the official SDK with its client mocked
 * (aws-sdk-client-mock; AWS cannot be reached here). The fake KMS does real
 * AES-GCM with the EncryptionContext as AAD.
 */
import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsKmsKek, KekUnavailableError, type Keyring } from "../../src/crypto/index.js";
import { fakeKms } from "./fixtures/kms-fake.js";
import { keyringHarness, type KeyringHarness } from "./helpers.js";

let h: KeyringHarness;
const kms = fakeKms();
let arn: string;
let keyring: Keyring;
const ctx = { table: "users", column: "email", id: "9" };

beforeAll(async () => {
  h = await keyringHarness("embedded");
  arn = kms.addKey("alias/rampart");
  keyring = await h.peer({ kek: new AwsKmsKek({ keyId: "alias/rampart", client: kms.client, log: h.rt.runtime.log }) });
});
afterAll(async () => h.done());

describe("aws-kms KEK", () => {
  it("(AWS mocked: GenerateDataKey, Decrypt) one GenerateDataKey for many fields, one Decrypt per DEK on another instance", async () => {
    kms.mock.resetHistory();
    const cts = await Promise.all(Array.from({ length: 50 }, (_, i) => keyring.encrypt(`v${i}`, ctx)));
    const gen = kms.mock.commandCalls(GenerateDataKeyCommand);
    expect(gen).toHaveLength(1);
    expect(gen[0]!.args[0].input).toMatchObject({ KeyId: "alias/rampart", KeySpec: "AES_256", EncryptionContext: { "rampart:purpose": "dek" } });
    const other = await h.peer({ kek: new AwsKmsKek({ keyId: "alias/rampart", client: kms.client, log: h.rt.runtime.log }) });
    expect((await Promise.all(cts.map((c) => other.decryptString(c, ctx))))[49]).toBe("v49");
    const dec = kms.mock.commandCalls(DecryptCommand);
    expect(dec).toHaveLength(1);
    // Decrypt names the key (the ARN from the header) and the same EncryptionContext.
    expect(dec[0]!.args[0].input).toMatchObject({ KeyId: arn, EncryptionContext: { "rampart:purpose": "dek" } });
  });

  it("(AWS mocked: GenerateDataKey) subject keys are wrapped with the subject in the EncryptionContext", async () => {
    kms.mock.resetHistory();
    const ct = await keyring.encryptFor("user-42", "secret", ctx);
    expect(kms.mock.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input.EncryptionContext).toEqual({ "rampart:purpose": "subject-dek", "rampart:subject": "user-42" });
    expect(await keyring.decryptStringFor("user-42", ct, ctx)).toBe("secret");
  });

  // Tampered wrapped keys and wrong contexts (InvalidCiphertextException) are in kek-conformance.test.ts.
  it("(AWS mocked: ThrottlingException) throttling that outlasts the retries is KekUnavailableError, not DecryptionFailed", async () => {
    const kek = new AwsKmsKek({ keyId: "alias/rampart", client: kms.client, log: h.rt.runtime.log });
    const gen = await kek.generateDataKey({ a: "b" });
    // The first attempt and both retries of the kms.aws upstream are throttled.
    kms.failNext("Decrypt", "ThrottlingException", 3);
    await expect(kek.unwrap(gen.ref, gen.wrapped, { a: "b" })).rejects.toBeInstanceOf(KekUnavailableError);
  });

  it("(AWS mocked: RotateKeyOnDemand) rotate asks KMS to rotate the key material; the reference stays the key ARN", async () => {
    const ref = await keyring.rotateKek();
    expect(ref).toEqual({ provider: "aws-kms", keyId: arn, version: 1 });
    expect(kms.mock.commandCalls(RotateKeyOnDemandCommand)[0]!.args[0].input).toEqual({ KeyId: arn });
  });

  it("(AWS mocked: Decrypt, Encrypt) moving to another KMS key: rewrap re-wraps under the new key, then the old one can be retired", async () => {
    const before = await keyring.encryptFor("user-move", "moved", ctx);
    const newArn = kms.addKey("alias/rampart-2");
    const moved = await h.peer({ kek: new AwsKmsKek({ keyId: "alias/rampart-2", client: kms.client, log: h.rt.runtime.log }) });
    await expect(moved.retireKek({ provider: "aws-kms", keyId: arn, version: 1 })).rejects.toThrow("run rewrap first");
    kms.mock.resetHistory();
    const result = await moved.rewrap();
    expect(result.subjectKeys).toBeGreaterThanOrEqual(2);
    expect(kms.mock.commandCalls(EncryptCommand).every((c) => c.args[0].input.KeyId === "alias/rampart-2")).toBe(true);
    const st = await moved.keysStatus();
    expect(st.current.keyId).toBe(newArn);
    expect(st.versions.find((v) => v.ref.keyId === arn)?.subjectKeys ?? 0).toBe(0);
    await moved.retireKek({ provider: "aws-kms", keyId: arn, version: 1 });
    expect(await moved.decryptStringFor("user-move", before, ctx)).toBe("moved");
  });
});
