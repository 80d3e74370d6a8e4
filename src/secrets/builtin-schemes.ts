/**
 * Rampart's own secrets provider schemes, as registry definitions: the same
 * shape a host app registers its scheme with. `aws:` entries share one AWS
 * client (the SDK imported on the first call, not at start-up, its own
 * retries off: the `secrets.aws` upstream retries) and `vault:` entries one
 * Vault login and the `secrets.vault` upstream; both close with the chain.
 */
import { ConfigError } from "../config/index.js";
import type { Upstream } from "../resilience/index.js";
import { AwsSecretsProvider, loadSecretsManagerSdk, type AwsClientHandle } from "./providers/aws.js";
import { DotenvProvider } from "./providers/dotenv.js";
import { EnvProvider } from "./providers/env.js";
import { FilesProvider } from "./providers/files.js";
import { AppRoleAuth, StaticTokenAuth, type VaultAuth } from "./providers/vault-auth.js";
import type { VaultEndpoint } from "./providers/vault-http.js";
import { VaultKvProvider } from "./providers/vault.js";
import type { SecretsProviderDefinition, SecretsSchemeContext } from "./schemes.js";
import { SECRETS_AWS_UPSTREAM, SECRETS_VAULT_UPSTREAM } from "./upstream.js";

export const envSecretsScheme: SecretsProviderDefinition = {
  scheme: "env",
  usage: "env",
  accepts: (arg) => arg === "",
  open: ({ env }) => ({ provider: () => new EnvProvider(env) }),
};

export const dotenvSecretsScheme: SecretsProviderDefinition = {
  scheme: "dotenv",
  usage: "dotenv:<file>",
  accepts: (arg) => arg.trim() !== "",
  open: () => ({ provider: (file) => new DotenvProvider(file) }),
};

export const filesSecretsScheme: SecretsProviderDefinition = {
  scheme: "files",
  usage: "files:<dir>",
  accepts: (arg) => arg.trim() !== "",
  open: () => ({ provider: (dir) => new FilesProvider(dir) }),
};

export const awsSecretsScheme: SecretsProviderDefinition = {
  scheme: "aws",
  usage: "aws:<prefix>",
  accepts: (arg) => !/\s/.test(arg),
  open(ctx) {
    const { config } = ctx;
    let aws: Promise<AwsClientHandle> | undefined;
    const connect = (): Promise<AwsClientHandle> =>
      (aws ??= loadSecretsManagerSdk().then((sdk) => ({
        sdk,
        client: new sdk.SecretsManagerClient({ maxAttempts: 1, ...(config.awsRegion !== undefined ? { region: config.awsRegion } : {}) }),
      })));
    let upstream: Upstream | undefined;
    return {
      provider: (prefix) => new AwsSecretsProvider(connect, prefix, (upstream ??= ctx.upstream(SECRETS_AWS_UPSTREAM))),
      async close() {
        if (aws !== undefined) (await aws.catch(() => undefined))?.client.destroy();
      },
    };
  },
};

function vaultAuth(ctx: SecretsSchemeContext, endpoint: VaultEndpoint): VaultAuth {
  const { config } = ctx;
  if (config.vaultToken !== undefined) return new StaticTokenAuth(config.vaultToken);
  if (config.vaultRoleId !== undefined && config.vaultSecretId !== undefined) {
    return new AppRoleAuth({ endpoint, mount: config.vaultAppRoleMount, roleId: config.vaultRoleId, secretId: config.vaultSecretId, clock: ctx.clock, redactor: ctx.redactor });
  }
  throw new ConfigError("VAULT_TOKEN", "a Vault token, or VAULT_ROLE_ID and VAULT_SECRET_ID, when RAMPART_SECRETS has a vault: provider", "(unset)");
}

export const vaultSecretsScheme: SecretsProviderDefinition = {
  scheme: "vault",
  usage: "vault:<mount>/<path>",
  accepts: (arg) => /^[^/\s]+\/\S+$/.test(arg),
  open(ctx) {
    const { config } = ctx;
    if (config.vaultAddr === undefined) throw new ConfigError("VAULT_ADDR", "an http(s) URL when RAMPART_SECRETS has a vault: provider", "(unset)");
    const endpoint: VaultEndpoint = { addr: config.vaultAddr, namespace: config.vaultNamespace };
    const auth = vaultAuth(ctx, endpoint);
    const upstream = ctx.upstream(SECRETS_VAULT_UPSTREAM);
    return {
      provider(arg) {
        const slash = arg.indexOf("/");
        return new VaultKvProvider(endpoint, auth, arg.slice(0, slash), arg.slice(slash + 1), upstream);
      },
    };
  },
};

/** Rampart's schemes, in the order RAMPART_SECRETS documents them. */
export const BUILTIN_SECRETS_SCHEMES: readonly SecretsProviderDefinition[] = [envSecretsScheme, dotenvSecretsScheme, filesSecretsScheme, awsSecretsScheme, vaultSecretsScheme];
