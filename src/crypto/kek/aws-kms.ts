/**
 * The `aws-kms` KEK provider, on the official SDK. One GenerateDataKey call
 * yields a DEK and its wrapped form; Decrypt names the expected KeyId (AWS's
 * advice, so a ciphertext cannot pick another key) and the EncryptionContext
 * (the key context: purpose and, for subject keys, the subject; it shows in
 * CloudTrail, never the message context). KMS versions its key material
 * internally: `rotate` is RotateKeyOnDemand and old wraps keep working, so the
 * version in the KEK reference is always 1 and the key id is the key ARN; a
 * move to another key (AWS_KMS_KEY_ID changed) is what `rewrap` migrates.
 */
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import type { Logger } from "pino";
import type { EncryptionContext } from "../context.js";
import { DecryptionFailed, KekUnavailableError } from "../errors.js";
import type { GeneratedKey, KekProvider, KekRef, KekVersionInfo, WrappedKey } from "./types.js";

export interface AwsKmsKekOptions {
  /** Key id, ARN or alias (AWS_KMS_KEY_ID). */
  keyId: string;
  /** A client to use (tests pass one mocked with aws-sdk-client-mock); default: region and credentials from the SDK's chain. */
  client?: KMSClient;
  log: Logger;
}

/** Errors that mean "this wrapped key is not valid for that key and context". */
const REJECTED = new Set(["InvalidCiphertextException", "IncorrectKeyException", "NotFoundException", "InvalidKeyUsageException", "ValidationException"]);

export class AwsKmsKek implements KekProvider {
  readonly name = "aws-kms" as const;
  private readonly client: KMSClient;
  private arn: string | undefined;

  constructor(private readonly o: AwsKmsKekOptions) {
    this.client = o.client ?? new KMSClient({});
  }

  private unavailable(err: unknown, what: string): KekUnavailableError {
    return new KekUnavailableError(`AWS KMS ${what} failed: ${(err as Error).name}`, { cause: err });
  }

  private ref(keyId: string): KekRef {
    return { provider: "aws-kms", keyId, version: 1 };
  }

  async current(): Promise<KekRef> {
    if (this.arn === undefined) {
      try {
        const res = await this.client.send(new DescribeKeyCommand({ KeyId: this.o.keyId }));
        this.arn = res.KeyMetadata?.Arn;
      } catch (err) {
        throw this.unavailable(err, "DescribeKey");
      }
      if (!this.arn) throw new KekUnavailableError(`AWS KMS DescribeKey returned no ARN for ${this.o.keyId}`);
    }
    return this.ref(this.arn);
  }

  async generateDataKey(context: EncryptionContext): Promise<GeneratedKey> {
    let res;
    try {
      res = await this.client.send(new GenerateDataKeyCommand({ KeyId: this.o.keyId, KeySpec: "AES_256", EncryptionContext: { ...context } }));
    } catch (err) {
      throw this.unavailable(err, "GenerateDataKey");
    }
    if (!res.Plaintext || !res.CiphertextBlob || !res.KeyId) throw new KekUnavailableError("AWS KMS GenerateDataKey returned an incomplete response");
    this.arn = res.KeyId;
    return { ref: this.ref(res.KeyId), dek: Buffer.from(res.Plaintext), wrapped: Buffer.from(res.CiphertextBlob) };
  }

  async wrap(dek: Buffer, context: EncryptionContext): Promise<WrappedKey> {
    let res;
    try {
      res = await this.client.send(new EncryptCommand({ KeyId: this.o.keyId, Plaintext: dek, EncryptionContext: { ...context } }));
    } catch (err) {
      throw this.unavailable(err, "Encrypt");
    }
    if (!res.CiphertextBlob || !res.KeyId) throw new KekUnavailableError("AWS KMS Encrypt returned an incomplete response");
    return { ref: this.ref(res.KeyId), wrapped: Buffer.from(res.CiphertextBlob) };
  }

  async unwrap(ref: KekRef, wrapped: Buffer, context: EncryptionContext): Promise<Buffer> {
    if (ref.provider !== "aws-kms" || ref.version !== 1) throw new DecryptionFailed();
    let res;
    try {
      res = await this.client.send(new DecryptCommand({ KeyId: ref.keyId, CiphertextBlob: wrapped, EncryptionContext: { ...context } }));
    } catch (err) {
      if (REJECTED.has((err as Error).name)) throw new DecryptionFailed();
      throw this.unavailable(err, "Decrypt");
    }
    if (!res.Plaintext || res.KeyId !== ref.keyId || res.Plaintext.length !== 32) throw new DecryptionFailed();
    return Buffer.from(res.Plaintext);
  }

  async rotate(): Promise<KekRef> {
    const ref = await this.current();
    try {
      await this.client.send(new RotateKeyOnDemandCommand({ KeyId: ref.keyId }));
    } catch (err) {
      throw this.unavailable(err, "RotateKeyOnDemand");
    }
    this.o.log.info({ kek: ref.keyId }, "AWS KMS key material rotated on demand; earlier wraps stay decryptable by KMS");
    return ref;
  }

  async retire(ref: KekRef): Promise<void> {
    // Deleting a KMS key is irreversible and usually someone else's call: Rampart stops using it and says so.
    this.o.log.warn({ kek: ref.keyId }, "no Rampart data depends on this KMS key any more; disable or schedule its deletion in KMS");
  }

  async versions(): Promise<KekVersionInfo[]> {
    return [{ ref: await this.current(), state: "active" }];
  }

  async close(): Promise<void> {
    if (!this.o.client) this.client.destroy();
  }
}
