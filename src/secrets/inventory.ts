/**
 * What `rampart secrets list` and `rampart secrets check` compute: the names
 * every provider holds (metadata only, the first provider in the chain wins a
 * name) and whether each required name resolves.
 */
import { SecretLoadError, SecretNotFoundError, safeReason } from "./errors.js";
import { isSecretName } from "./names.js";
import type { SecretListing, SecretProvider, SecretValue } from "./provider.js";
import type { SecretCheck, SecretInfo, SecretsCheckReport, SecretsListing } from "./types.js";

/** Runs one call of a provider under the service's policies (deadline, retries, breaker). */
type Call = <T>(provider: SecretProvider, fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;

/** Lists every provider in chain order; a provider that fails is reported, not fatal. */
export async function listSecrets(providers: readonly SecretProvider[], call: Call, now: number): Promise<SecretsListing> {
  const byName = new Map<string, SecretInfo>();
  const errors: SecretsListing["errors"] = [];
  for (const provider of providers) {
    let listed: SecretListing[];
    try {
      listed = await call(provider, (signal) => provider.list(signal));
    } catch (err) {
      errors.push({ provider: provider.id, message: safeReason(err) });
      continue;
    }
    for (const item of listed) {
      if (!isSecretName(item.name)) continue;
      const earlier = byName.get(item.name);
      if (earlier !== undefined) {
        earlier.shadowed.push(provider.id);
        continue;
      }
      byName.set(item.name, {
        name: item.name,
        provider: provider.id,
        version: item.version ?? null,
        updatedAt: item.updatedAt !== undefined ? new Date(item.updatedAt).toISOString() : null,
        ageSeconds: item.updatedAt !== undefined ? Math.max(0, Math.floor((now - item.updatedAt) / 1000)) : null,
        shadowed: [],
      });
    }
  }
  const secrets = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { secrets, errors };
}

/** Resolves each name once; a missing, failing or malformed name makes the report not ok. */
export async function checkSecrets(
  names: readonly string[],
  /** Resolves a name or rejects (SecretNotFoundError when no provider has it). */
  resolve: (name: string) => Promise<SecretValue & { provider: string }>,
): Promise<SecretsCheckReport> {
  const unique = [...new Set(names)];
  const results = await Promise.all(
    unique.map(async (name): Promise<SecretCheck> => {
      if (!isSecretName(name)) return { name, status: "invalid", message: "not a kebab-case secret name" };
      try {
        const found = await resolve(name);
        return { name, status: "ok", provider: found.provider, version: found.version ?? null };
      } catch (err) {
        if (err instanceof SecretNotFoundError) return { name, status: "missing", message: err.message };
        if (err instanceof SecretLoadError) return { name, status: "error", provider: err.provider, message: err.reason };
        return { name, status: "error", message: safeReason(err) };
      }
    }),
  );
  return { ok: results.every((r) => r.status === "ok"), results };
}
