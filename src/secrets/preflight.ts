/**
 * Production refusals for the secrets settings, for `rampart preflight`:
 * secrets must not travel in clear text to Vault over the network.
 */
import type { Config } from "../config/index.js";
import { parseChainEntry } from "./schemes.js";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Problems with the secrets configuration that production must refuse; empty when none. */
export function secretsPreflight(config: Config): string[] {
  const problems: string[] = [];
  const usesVault = config.secretsProviders.some((e) => parseChainEntry(e).kind === "vault");
  if (usesVault && config.vaultAddr !== undefined) {
    const u = new URL(config.vaultAddr);
    if (u.protocol !== "https:" && !LOOPBACK.has(u.hostname)) {
      problems.push(`VAULT_ADDR: secrets would be read over plain HTTP from ${u.host}; use https://`);
    }
  }
  return problems;
}
