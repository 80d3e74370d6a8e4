/**
 * Builds the provider chain from `RAMPART_SECRETS` (already syntax-checked by
 * the config loader). Shared resources, one AWS client and one Vault login for
 * all `aws:` and `vault:` entries, are created here and closed with the chain,
 * and so are their upstreams (`secrets.aws`, `secrets.vault`: one breaker per
 * backend), registered in the runtime's registry when there is one.
 * A chain that needs settings which are missing (a `vault:` entry without
 * `VAULT_ADDR` or credentials) fails at start-up with a ConfigError.
 */
import { ConfigError, type Config } from "../config/index.js";
import type { Logger, SecretRedactor } from "../log/index.js";
import { createUpstream, type Upstream, type UpstreamRegistry } from "../resilience/index.js";
import type { Clock } from "../runtime/clock.js";
import type { SecretProvider } from "./provider.js";
import { AwsSecretsProvider, loadSecretsManagerSdk, type AwsClientHandle } from "./providers/aws.js";
import { DotenvProvider } from "./providers/dotenv.js";
import { EnvProvider } from "./providers/env.js";
import { FilesProvider } from "./providers/files.js";
import { AppRoleAuth, StaticTokenAuth, type VaultAuth } from "./providers/vault-auth.js";
import { VaultKvProvider } from "./providers/vault.js";
import type { VaultEndpoint } from "./providers/vault-http.js";
import { SECRETS_AWS_UPSTREAM, SECRETS_VAULT_UPSTREAM, secretsUpstreamOptions } from "./upstream.js";

export interface ChainDeps {
  config: Config;
  env: Record<string, string | undefined>;
  redactor: SecretRedactor;
  clock: Clock;
  /** Receives the upstreams' breaker transitions. */
  log?: Logger;
  /** The runtime's upstreams; without it the chain's upstreams are its own. */
  upstreams?: UpstreamRegistry;
}

export interface ProviderChain {
  readonly providers: SecretProvider[];
  close(): Promise<void>;
}

/** Splits one `RAMPART_SECRETS` entry into its kind and argument (`files:/run/secrets` → files, /run/secrets). */
export function parseChainEntry(entry: string): { kind: string; arg: string } {
  const i = entry.indexOf(":");
  return i < 0 ? { kind: entry, arg: "" } : { kind: entry.slice(0, i), arg: entry.slice(i + 1) };
}

function vaultAuth(deps: ChainDeps, endpoint: VaultEndpoint): VaultAuth {
  const { config } = deps;
  if (config.vaultToken !== undefined) return new StaticTokenAuth(config.vaultToken);
  if (config.vaultRoleId !== undefined && config.vaultSecretId !== undefined) {
    return new AppRoleAuth({ endpoint, mount: config.vaultAppRoleMount, roleId: config.vaultRoleId, secretId: config.vaultSecretId, clock: deps.clock, redactor: deps.redactor });
  }
  throw new ConfigError("VAULT_TOKEN", "a Vault token, or VAULT_ROLE_ID and VAULT_SECRET_ID, when RAMPART_SECRETS has a vault: provider", "(unset)");
}

/** Creates the providers named by `config.secretsProviders`, in order. */
export function buildProviderChain(deps: ChainDeps): ProviderChain {
  const { config } = deps;
  // Credentials from the configuration are secrets too: never printable.
  for (const credential of [config.vaultToken, config.vaultSecretId, config.vaultRoleId]) {
    if (credential !== undefined) deps.redactor.register(credential);
  }
  let aws: Promise<AwsClientHandle> | undefined;
  // The SDK is imported on the first call of an aws: provider, not at start-up. Its own
  // retries are off: the secrets.aws upstream retries, under one deadline per attempt.
  const connectAws = (): Promise<AwsClientHandle> =>
    (aws ??= loadSecretsManagerSdk().then((sdk) => ({
      sdk,
      client: new sdk.SecretsManagerClient({ maxAttempts: 1, ...(config.awsRegion !== undefined ? { region: config.awsRegion } : {}) }),
    })));
  const upstream = (name: string): Upstream => {
    const options = secretsUpstreamOptions(config.secretsProviderTimeoutMs);
    return deps.upstreams ? deps.upstreams.create(name, options) : createUpstream(name, { ...options, ...(deps.log ? { log: deps.log } : {}) });
  };
  let awsUpstream: Upstream | undefined;
  let vault: { endpoint: VaultEndpoint; auth: VaultAuth; upstream: Upstream } | undefined;
  const providers: SecretProvider[] = [];
  for (const entry of config.secretsProviders) {
    const { kind, arg } = parseChainEntry(entry);
    switch (kind) {
      case "env":
        providers.push(new EnvProvider(deps.env));
        break;
      case "dotenv":
        providers.push(new DotenvProvider(arg));
        break;
      case "files":
        providers.push(new FilesProvider(arg));
        break;
      case "aws":
        providers.push(new AwsSecretsProvider(connectAws, arg, (awsUpstream ??= upstream(SECRETS_AWS_UPSTREAM))));
        break;
      case "vault": {
        if (config.vaultAddr === undefined) throw new ConfigError("VAULT_ADDR", "an http(s) URL when RAMPART_SECRETS has a vault: provider", "(unset)");
        const slash = arg.indexOf("/");
        if (vault === undefined) {
          const endpoint: VaultEndpoint = { addr: config.vaultAddr, namespace: config.vaultNamespace };
          vault = { endpoint, auth: vaultAuth(deps, endpoint), upstream: upstream(SECRETS_VAULT_UPSTREAM) };
        }
        providers.push(new VaultKvProvider(vault.endpoint, vault.auth, arg.slice(0, slash), arg.slice(slash + 1), vault.upstream));
        break;
      }
      default:
        throw new ConfigError("RAMPART_SECRETS", "entries env, dotenv:<file>, files:<dir>, aws:<prefix> or vault:<mount>/<path>", `'${entry}'`);
    }
  }
  return {
    providers,
    async close() {
      if (aws !== undefined) (await aws.catch(() => undefined))?.client.destroy();
      for (const p of providers) await p.close?.();
    },
  };
}
