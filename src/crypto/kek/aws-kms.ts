/**
 * The `aws-kms` KEK provider, on the official SDK. One GenerateDataKey call
 * yields a DEK and its wrapped form; Decrypt names the expected KeyId (AWS's
 * advice, so a ciphertext cannot pick another key) and the EncryptionContext
 * (the key context: purpose and, for subject keys, the subject; it shows in
 * CloudTrail, never the message context). KMS versions its key material
 * internally: `rotate` is RotateKeyOnDemand and old wraps keep working, so the
 * version in the KEK reference is always 1 and the key id is the key ARN; a
 * move to another key (AWS_KMS_KEY_ID changed) is what `rewrap` migrates.
 *
 * Every call goes through the `kms.aws` upstream (kek/upstream.ts) with the
 * attempt's AbortSignal passed to the SDK; the SDK's own retries are off on
 * the client made here, so one retry budget (the upstream's, with jitter)
 * and one deadline per attempt apply.
 *
 * The SDK is an optional peer package: it is imported when the provider is
 * created (`AwsKmsKek.open`) or, for a provider constructed directly, on its
 * first call; deployments on another KEK provider never load it.
 */
import type * as KmsSdk from "@aws-sdk/client-kms";
import type { DecryptCommandOutput, DescribeKeyCommandOutput, EncryptCommandOutput, GenerateDataKeyCommandOutput } from "@aws-sdk/client-kms";
import type { Logger } from "pino";
import { loadOptionalPackage, OptionalPackageMissing, type PackageImporter } from "../../config/optional-package.js";
import { createUpstream, isTransientAwsError, type Upstream } from "../../resilience/index.js";
import type { EncryptionContext } from "../context.js";
import { DecryptionFailed, KekUnavailableError } from "../errors.js";
import type { GeneratedKey, KekProvider, KekRef, KekVersionInfo, WrappedKey } from "./types.js";
import { kmsCallError, kmsUpstreamOptions } from "./upstream.js";

/** The upstream name of AWS KMS calls (metrics label, logs). */
export const AWS_KMS_UPSTREAM = "kms.aws";

/** Settings of the `kms.aws` upstream; AWS's client faults (AccessDenied, DisabledException, ...) are not failures. */
export function awsKmsUpstreamOptions(): ReturnType<typeof kmsUpstreamOptions> {
  return kmsUpstreamOptions(isTransientAwsError);
}

/**
 * What the provider calls on a KMS client. The AWS SDK's `KMSClient` is one
 * (also when mocked with aws-sdk-client-mock).
 * Declared here, not taken from the SDK, so that Rampart's type declarations
 * compile in an app that does not install the optional SDK.
 */
export interface AwsKmsClientLike {
  send(command: object, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  destroy(): void;
}

/** The classes of the AWS SDK's KMS package the provider uses, with the inputs it gives them; the package's module is one. */
export interface AwsKmsSdkLike {
  readonly KMSClient: new (config: { maxAttempts: number }) => AwsKmsClientLike;
  readonly DescribeKeyCommand: new (input: { KeyId: string }) => object;
  readonly GenerateDataKeyCommand: new (input: { KeyId: string; KeySpec: "AES_256"; EncryptionContext: Record<string, string> }) => object;
  readonly EncryptCommand: new (input: { KeyId: string; Plaintext: Uint8Array; EncryptionContext: Record<string, string> }) => object;
  readonly DecryptCommand: new (input: { KeyId: string; CiphertextBlob: Uint8Array; EncryptionContext: Record<string, string> }) => object;
  readonly RotateKeyOnDemandCommand: new (input: { KeyId: string }) => object;
}

export interface AwsKmsKekOptions {
  /** Key id, ARN or alias (AWS_KMS_KEY_ID). */
  keyId: string;
  /** A client to use (tests pass one mocked with aws-sdk-client-mock); default: region and credentials from the SDK's chain. */
  client?: AwsKmsClientLike;
  log: Logger;
  /** The `kms.aws` upstream (the runtime's registry has it); default a private one with the same settings. */
  upstream?: Upstream;
}

type Kms = { sdk: AwsKmsSdkLike; client: AwsKmsClientLike };

/** The KMS SDK; OptionalPackageMissing names the package when it is not installed. */
export function loadKmsSdk(importer?: PackageImporter): Promise<AwsKmsSdkLike> {
  // Loaded as the SDK's own type, so the compiler checks that the real module fits AwsKmsSdkLike.
  return loadOptionalPackage<typeof KmsSdk>("@aws-sdk/client-kms", "KEK provider 'aws-kms'", importer);
}

/** Errors that mean "this wrapped key is not valid for that key and context". */
const REJECTED = new Set(["InvalidCiphertextException", "IncorrectKeyException", "NotFoundException", "InvalidKeyUsageException", "ValidationException"]);

export class AwsKmsKek implements KekProvider {
  readonly name = "aws-kms" as const;
  private readonly upstream: Upstream;
  private sdk: Promise<AwsKmsSdkLike> | undefined;
  /** The client made here (none when the options gave one); destroyed by close(). */
  private ownClient: AwsKmsClientLike | undefined;
  private arn: string | undefined;

  /** @param sdk the loaded SDK; without it the SDK is imported on the first call. */
  constructor(
    private readonly o: AwsKmsKekOptions,
    sdk?: AwsKmsSdkLike,
  ) {
    if (sdk) this.sdk = Promise.resolve(sdk);
    this.upstream = o.upstream ?? createUpstream(AWS_KMS_UPSTREAM, { ...awsKmsUpstreamOptions(), log: o.log });
  }

  /** Loads the SDK first, so a deployment without it fails at start-up naming the package. */
  static async open(o: AwsKmsKekOptions, importer?: PackageImporter): Promise<AwsKmsKek> {
    return new AwsKmsKek(o, await loadKmsSdk(importer));
  }

  /** The SDK and the client, the client made on first use. */
  private async kms(): Promise<Kms> {
    const sdk = await (this.sdk ??= loadKmsSdk());
    const client = this.o.client ?? (this.ownClient ??= new sdk.KMSClient({ maxAttempts: 1 }));
    return { sdk, client };
  }

  /** One SDK call through the upstream, the attempt's signal passed on (an abandoned attempt stops on the wire). */
  private async send<T>(idempotent: boolean, call: (kms: Kms, abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const kms = await this.kms();
    return this.upstream.execute((abortSignal) => call(kms, abortSignal), { idempotent });
  }

  /** The error for a failed call; a missing SDK keeps its own error, which names the package. */
  private unavailable(err: unknown, what: string): Error {
    if (err instanceof OptionalPackageMissing) return err;
    return kmsCallError(`AWS KMS ${what}`, err, isTransientAwsError, (e) => e.name);
  }

  private ref(keyId: string): KekRef {
    return { provider: "aws-kms", keyId, version: 1 };
  }

  async current(): Promise<KekRef> {
    if (this.arn === undefined) {
      try {
        const res = await this.send(true, ({ sdk, client }, abortSignal) => client.send(new sdk.DescribeKeyCommand({ KeyId: this.o.keyId }), { abortSignal }) as Promise<DescribeKeyCommandOutput>);
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
      res = await this.send(true, ({ sdk, client }, abortSignal) =>
        client.send(new sdk.GenerateDataKeyCommand({ KeyId: this.o.keyId, KeySpec: "AES_256", EncryptionContext: { ...context } }), { abortSignal }) as Promise<GenerateDataKeyCommandOutput>,
      );
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
      res = await this.send(true, ({ sdk, client }, abortSignal) => client.send(new sdk.EncryptCommand({ KeyId: this.o.keyId, Plaintext: dek, EncryptionContext: { ...context } }), { abortSignal }) as Promise<EncryptCommandOutput>);
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
      res = await this.send(true, ({ sdk, client }, abortSignal) => client.send(new sdk.DecryptCommand({ KeyId: ref.keyId, CiphertextBlob: wrapped, EncryptionContext: { ...context } }), { abortSignal }) as Promise<DecryptCommandOutput>);
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
      // Not idempotent: each call rotates again (and counts against KMS's on-demand rotation quota).
      await this.send(false, ({ sdk, client }, abortSignal) => client.send(new sdk.RotateKeyOnDemandCommand({ KeyId: ref.keyId }), { abortSignal }));
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
    this.ownClient?.destroy();
  }
}
