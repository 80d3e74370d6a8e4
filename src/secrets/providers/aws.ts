/**
 * The `aws:<prefix>` provider: AWS Secrets Manager through the official SDK.
 * Secret `jwt-signing` with prefix `rampart/prod/` is the secret id
 * `rampart/prod/jwt-signing`; its value is the whole SecretString (or the
 * SecretBinary as UTF-8). The version stage `AWSCURRENT` is the value and
 * `AWSPREVIOUS` the one before it, which is what Secrets Manager's rotation
 * moves between; the VersionId is reported as the version.
 *
 * Credentials come from the SDK's default chain (environment, shared config,
 * instance / task role); Rampart never reads AWS keys itself. The SDK is an
 * optional peer package loaded on first use, so deployments without `aws:`
 * neither install nor load it (without it, a load fails naming the package);
 * the client is shared by every `aws:` provider of a chain, which owns and
 * closes it.
 *
 * Calls run through the `secrets.aws` upstream (../upstream.ts), the
 * attempt's signal passed to the SDK as `abortSignal`. Throttling, 5xx and
 * network errors are transient; AccessDenied and other client faults are not.
 */
import type * as SecretsManagerSdk from "@aws-sdk/client-secrets-manager";
import type { GetSecretValueCommandOutput, ListSecretsCommandOutput } from "@aws-sdk/client-secrets-manager";
import { loadOptionalPackage, OptionalPackageMissing, type PackageImporter } from "../../config/optional-package.js";
import { isTransientAwsError, type Upstream } from "../../resilience/index.js";
import { ProviderError } from "../errors.js";
import { isSecretName } from "../names.js";
import type { SecretListing, SecretProvider, SecretValue } from "../provider.js";
import { providerUpstream, SECRETS_AWS_UPSTREAM } from "../upstream.js";

/** Bounds a listing so a misconfigured prefix cannot page through a whole account. */
const MAX_LIST_PAGES = 50;

type Stage = "AWSCURRENT" | "AWSPREVIOUS";

/**
 * What the provider calls on a Secrets Manager client. The AWS SDK's
 * `SecretsManagerClient` is one (also when mocked with aws-sdk-client-mock). Declared here, not taken from the SDK, so that
 * Rampart's type declarations compile in an app that does not install the
 * optional SDK.
 */
export interface AwsSecretsManagerClientLike {
  send(command: object, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  destroy(): void;
}

/** The classes of the AWS SDK's Secrets Manager package Rampart uses, with the inputs it gives them; the package's module is one. */
export interface AwsSecretsManagerSdkLike {
  readonly SecretsManagerClient: new (config: { maxAttempts: number; region?: string }) => AwsSecretsManagerClientLike;
  readonly GetSecretValueCommand: new (input: { SecretId: string; VersionStage: string }) => object;
  readonly ListSecretsCommand: new (input: { MaxResults: number; Filters?: { Key: "name"; Values: string[] }[]; NextToken?: string }) => object;
}

/** The SDK module and a client made from it. */
export interface AwsClientHandle {
  readonly sdk: AwsSecretsManagerSdkLike;
  readonly client: AwsSecretsManagerClientLike;
}

/** The Secrets Manager SDK; OptionalPackageMissing names the package when it is not installed. */
export function loadSecretsManagerSdk(importer?: PackageImporter): Promise<AwsSecretsManagerSdkLike> {
  // Loaded as the SDK's own type, so the compiler checks that the real module fits AwsSecretsManagerSdkLike.
  return loadOptionalPackage<typeof SecretsManagerSdk>("@aws-sdk/client-secrets-manager", "Secrets provider 'aws:'", importer);
}

/** A handle for a client the caller made (and closes). */
export async function awsClientHandle(client: AwsSecretsManagerClientLike): Promise<AwsClientHandle> {
  return { sdk: await loadSecretsManagerSdk(), client };
}

/** Connects, a missing SDK reported as a permanent provider failure whose reason names the package. */
async function connectOrFail(connect: () => Promise<AwsClientHandle>): Promise<AwsClientHandle> {
  try {
    return await connect();
  } catch (err) {
    if (err instanceof OptionalPackageMissing) throw new ProviderError(err.message, { cause: err, transient: false });
    throw err;
  }
}

/** AWS error name, HTTP status and AWS's own message: these never carry a secret value. */
function awsReason(err: unknown): string {
  if (!(err instanceof Error)) return "unknown error";
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = err.message.length > 300 ? `${err.message.slice(0, 300)}...` : err.message;
  return `${err.name}${status ? ` (HTTP ${status})` : ""}${message && message !== err.name ? `: ${message}` : ""}`;
}

/** A ProviderError for a failed SDK call, transient when AWS failed rather than answered. */
function awsError(what: string, err: unknown): ProviderError {
  return new ProviderError(`${what} failed: ${awsReason(err)}`, { cause: err, transient: isTransientAwsError(err) });
}

export class AwsSecretsProvider implements SecretProvider {
  readonly id: string;
  readonly upstream: Upstream;

  /** @param upstream the chain's `secrets.aws`; default a private one with the default settings. */
  constructor(
    private readonly connect: () => Promise<AwsClientHandle>,
    private readonly prefix: string,
    upstream?: Upstream,
  ) {
    this.id = `aws:${prefix}`;
    this.upstream = providerUpstream(SECRETS_AWS_UPSTREAM, upstream);
  }

  locate(name: string): string {
    return `${this.id} (SecretId ${this.prefix}${name})`;
  }

  load(name: string, signal: AbortSignal): Promise<SecretValue | undefined> {
    return this.fetch(name, "AWSCURRENT", signal);
  }

  loadPrevious(name: string, signal: AbortSignal): Promise<SecretValue | undefined> {
    return this.fetch(name, "AWSPREVIOUS", signal);
  }

  private async fetch(name: string, stage: Stage, signal: AbortSignal): Promise<SecretValue | undefined> {
    const { sdk, client } = await connectOrFail(this.connect);
    let out: GetSecretValueCommandOutput;
    try {
      out = (await client.send(new sdk.GetSecretValueCommand({ SecretId: this.prefix + name, VersionStage: stage }), { abortSignal: signal })) as GetSecretValueCommandOutput;
    } catch (err) {
      // Missing secret, or no version carries the stage (no AWSPREVIOUS before the first rotation).
      if (err instanceof Error && err.name === "ResourceNotFoundException") return undefined;
      throw awsError(`GetSecretValue ${stage}`, err);
    }
    const value = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString("utf8") : undefined);
    if (value === undefined) return undefined;
    return {
      value,
      ...(out.VersionId ? { version: out.VersionId } : {}),
      ...(out.CreatedDate ? { updatedAt: out.CreatedDate.getTime() } : {}),
    };
  }

  async list(signal: AbortSignal): Promise<SecretListing[]> {
    const { sdk, client } = await connectOrFail(this.connect);
    const out: SecretListing[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      let res: ListSecretsCommandOutput;
      try {
        res = (await client.send(
          new sdk.ListSecretsCommand({
            MaxResults: 100,
            ...(this.prefix ? { Filters: [{ Key: "name", Values: [this.prefix] }] } : {}),
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
          { abortSignal: signal },
        )) as ListSecretsCommandOutput;
      } catch (err) {
        throw awsError("ListSecrets", err);
      }
      for (const s of res.SecretList ?? []) {
        // The name filter matches prefixes of words too; keep exact prefix matches only.
        if (!s.Name?.startsWith(this.prefix)) continue;
        const name = s.Name.slice(this.prefix.length);
        if (!isSecretName(name)) continue;
        const current = Object.entries(s.SecretVersionsToStages ?? {}).find(([, stages]) => stages.includes("AWSCURRENT"))?.[0];
        out.push({
          name,
          ...(current ? { version: current } : {}),
          ...(s.LastChangedDate ? { updatedAt: s.LastChangedDate.getTime() } : {}),
        });
      }
      nextToken = res.NextToken;
      if (!nextToken) break;
    }
    return out;
  }
}
