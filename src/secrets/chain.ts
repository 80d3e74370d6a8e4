/**
 * Builds the provider chain from `RAMPART_SECRETS` with the runtime's scheme
 * registry (built-ins and the host app's, schemes.ts). Every entry is checked
 * before any scheme opens: an unknown scheme or a malformed argument stops
 * the start with a ConfigError naming the entry. Each scheme is opened once,
 * at its first entry, so its entries share what it holds (one AWS client,
 * one Vault login, their upstreams `secrets.aws` and `secrets.vault`, in the
 * runtime's registry when there is one); all of it closes with the chain.
 */
import type { Config } from "../config/index.js";
import type { Logger, SecretRedactor } from "../log/index.js";
import { createUpstream, type Upstream, type UpstreamRegistry } from "../resilience/index.js";
import type { Clock } from "../runtime/clock.js";
import { BUILTIN_SECRETS_SCHEMES } from "./builtin-schemes.js";
import type { SecretProvider } from "./provider.js";
import { SecretsProviderRegistry, type OpenedSecretsScheme, type SecretsProviderDefinition, type SecretsSchemeContext } from "./schemes.js";
import { secretsUpstreamOptions } from "./upstream.js";

export { parseChainEntry } from "./schemes.js";

export interface ChainDeps {
  config: Config;
  env: Record<string, string | undefined>;
  redactor: SecretRedactor;
  clock: Clock;
  /** Receives the upstreams' breaker transitions. */
  log?: Logger;
  /** The runtime's upstreams; without it the chain's upstreams are its own. */
  upstreams?: UpstreamRegistry;
  /** The schemes RAMPART_SECRETS may name; default the built-ins. */
  schemes?: SecretsProviderRegistry;
}

export interface ProviderChain {
  readonly providers: SecretProvider[];
  close(): Promise<void>;
}

/** A registry holding the built-in schemes and then `app`'s (a scheme used twice is refused). */
export function secretsProviderRegistry(app: Iterable<SecretsProviderDefinition> = []): SecretsProviderRegistry {
  return new SecretsProviderRegistry([...BUILTIN_SECRETS_SCHEMES, ...app]);
}

/** Creates the providers named by `config.secretsProviders`, in order. */
export function buildProviderChain(deps: ChainDeps): ProviderChain {
  const { config } = deps;
  const registry = deps.schemes ?? secretsProviderRegistry();
  const entries = config.secretsProviders.map((entry) => registry.resolve(entry));
  // Credentials from the configuration are secrets too: never printable.
  for (const credential of [config.vaultToken, config.vaultSecretId, config.vaultRoleId]) {
    if (credential !== undefined) deps.redactor.register(credential);
  }
  const context: SecretsSchemeContext = {
    config,
    env: deps.env,
    redactor: deps.redactor,
    clock: deps.clock,
    ...(deps.log ? { log: deps.log } : {}),
    upstream(name: string): Upstream {
      const options = secretsUpstreamOptions(config.secretsProviderTimeoutMs);
      return deps.upstreams ? deps.upstreams.create(name, options) : createUpstream(name, { ...options, ...(deps.log ? { log: deps.log } : {}) });
    },
  };
  const opened = new Map<string, OpenedSecretsScheme>();
  const providers: SecretProvider[] = [];
  const close = async () => {
    for (const p of providers) await p.close?.();
    for (const s of opened.values()) await s.close?.();
  };
  try {
    for (const { definition, arg } of entries) {
      let scheme = opened.get(definition.scheme);
      if (!scheme) {
        scheme = definition.open(context);
        opened.set(definition.scheme, scheme);
      }
      providers.push(scheme.provider(arg));
    }
  } catch (err) {
    // A scheme that fails to open (a missing setting) leaves nothing open behind it.
    void close().catch(() => undefined);
    throw err;
  }
  return { providers, close };
}
