/**
 * Opens the KEK provider named by RAMPART_KMS from a runtime's provider
 * registry: Rampart's built-ins, then the host app's own definitions, all
 * registered the same way (providers.ts). An unknown name is refused here,
 * at runtime creation, naming it and the known providers.
 */
import { BUILTIN_KEK_PROVIDERS } from "./builtins.js";
import { KekProviderRegistry, type KekDeps, type KekProviderDefinition } from "./providers.js";
import type { KekProvider } from "./types.js";

/** A registry holding the built-in providers and then `app`'s (a name used twice is refused). */
export function kekProviderRegistry(app: Iterable<KekProviderDefinition> = []): KekProviderRegistry {
  return new KekProviderRegistry([...BUILTIN_KEK_PROVIDERS, ...app]);
}

/** Opens the provider `config.kms` names, from `registry` (default: the built-ins only). */
export async function createKekProvider(d: KekDeps, registry: KekProviderRegistry = kekProviderRegistry()): Promise<KekProvider> {
  return registry.create(d);
}

export { LocalKek } from "./local.js";
export { Pkcs11Kek } from "./pkcs11.js";
export { AwsKmsKek } from "./aws-kms.js";
export { VaultTransitKek } from "./vault-transit.js";
export { KekProviderRegistry, type KekDeps, type KekConfig, type KekProviderDefinition } from "./providers.js";
export { BUILTIN_KEK_PROVIDERS, localKekProvider, pkcs11KekProvider, awsKmsKekProvider, vaultTransitKekProvider } from "./builtins.js";
export { isKekProviderName, type KekProvider, type KekRef, type KekProviderName, type KekVersionInfo, type GeneratedKey, type WrappedKey } from "./types.js";
