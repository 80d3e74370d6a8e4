/**
 * Production refusals for the crypto settings, for `rampart preflight` and
 * `serve` with NODE_ENV=production: the checks of the provider RAMPART_KMS
 * names (each definition carries its own: a missing or development master
 * key, a provider without its required options), an unknown provider, and a
 * missing or development blind-index key.
 */
import type { KeyringConfig } from "./create-keyring.js";
import { kekProviderRegistry } from "./kek/index.js";
import type { KekProviderRegistry } from "./kek/providers.js";
import { keySecretProblem } from "./key-secret-problem.js";
import type { Secrets } from "../secrets/types.js";

/**
 * Problems that must stop a production start; empty when the crypto settings
 * are fit for production. `providers` is the runtime's registry (default:
 * the built-ins), so an app provider's own checks run too.
 */
export async function cryptoPreflight(config: KeyringConfig, secrets: Secrets, providers: KekProviderRegistry = kekProviderRegistry()): Promise<string[]> {
  const problems: string[] = [];
  if (providers.has(config.kms)) {
    problems.push(...((await providers.resolve(config.kms).preflight?.(config, secrets)) ?? []));
  } else {
    problems.push(`RAMPART_KMS=${config.kms}: unknown KEK provider; known: ${providers.names().join(", ")}`);
  }
  const b = await keySecretProblem(secrets, config.dataDir, "blind-index-key");
  if (b) problems.push(b);
  return problems;
}
