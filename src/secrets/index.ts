/**
 * Public API of secrets: the service (`createSecrets`), its contract, the
 * providers for embedders who build their own chain, the errors, and the
 * functions behind `rampart secrets list | check`.
 */
export type { Secrets, SecretsService, SecretsStats, SecretInfo, SecretsListing, SecretCheck, SecretsCheckReport } from "./types.js";
export { createSecrets, type SecretsOptions } from "./service.js";
export type { SecretProvider, SecretValue, SecretListing } from "./provider.js";
export { buildProviderChain, parseChainEntry, secretsProviderRegistry, type ProviderChain, type ChainDeps } from "./chain.js";
export { SecretsProviderRegistry, UnknownSecretsSchemeError, type SecretsProviderDefinition, type SecretsSchemeContext, type OpenedSecretsScheme } from "./schemes.js";
export { BUILTIN_SECRETS_SCHEMES } from "./builtin-schemes.js";
export { EnvProvider } from "./providers/env.js";
export { DotenvProvider } from "./providers/dotenv.js";
export { FilesProvider } from "./providers/files.js";
export { AwsSecretsProvider, awsClientHandle, type AwsClientHandle, type AwsSecretsManagerClientLike, type AwsSecretsManagerSdkLike } from "./providers/aws.js";
export { VaultKvProvider } from "./providers/vault.js";
export { StaticTokenAuth, AppRoleAuth, type VaultAuth, type AppRoleOptions } from "./providers/vault-auth.js";
export { SecretNotFoundError, SecretLoadError, InvalidSecretNameError, SecretsClosedError, ProviderError } from "./errors.js";
export { isSecretName, assertSecretName, envVarFor, ENV_PREFIX } from "./names.js";
export { runSecretsList, runSecretsCheck, formatAge } from "./cli.js";
export { secretsPreflight } from "./preflight.js";
export { CONNECTION_SECRETS, resolveConnectionUrls, resolveConnectionUrlsOnce, parseConnectionSecret, registerConnectionUrl, databaseUrlSource, type ResolvedConnections, type ConnectionKey } from "./connection-urls.js";
