/**
 * What a database shared by several instances (DATABASE_URL) requires before
 * anything opens: every setting that must be equal on all instances is given,
 * never made up by one of them. A development key generated per process, or
 * an issuer taken from each process's own HOST:PORT, works on the first
 * instance and quietly breaks every other (data it cannot decrypt, tokens it
 * refuses), so the start is refused instead, naming what to set, in every
 * NODE_ENV. The embedded database belongs to one process and keeps its
 * generated development keys.
 */
import type { Config } from "../config/index.js";
import { SecretNotFoundError } from "../secrets/errors.js";
import type { Secrets } from "../secrets/types.js";

export class SharedDatabaseConfigError extends Error {
  override readonly name = "SharedDatabaseConfigError";
  constructor(
    /** What to set, one entry per setting (secret names with where the providers looked, variables). */
    readonly missing: readonly string[],
  ) {
    super(`DATABASE_URL is set, so every instance on that database must be given the same keys and token issuer (none is generated); set ${missing.join("; ")}`);
  }
}

export type SharedDatabaseConfig = Pick<Config, "databaseUrl" | "kms" | "publicUrlConfigured">;

/** What is missing for a shared database, one entry per setting; empty without DATABASE_URL or when nothing is. */
export async function sharedDatabaseProblems(config: SharedDatabaseConfig, secrets: Secrets): Promise<string[]> {
  if (config.databaseUrl === undefined) return [];
  const missing: string[] = [];
  // The KEK providers other than `local` keep their key outside the process and generate nothing.
  if (config.kms === "local") missing.push(...(await missingSecret(secrets, "master-key")));
  missing.push(...(await missingSecret(secrets, "blind-index-key")));
  if (!config.publicUrlConfigured) missing.push("RAMPART_PUBLIC_URL (the issuer of access tokens, which every instance must sign and accept alike)");
  return missing;
}

/** Throws SharedDatabaseConfigError listing everything sharedDatabaseProblems finds. */
export async function assertSharedDatabaseReady(config: SharedDatabaseConfig, secrets: Secrets): Promise<void> {
  const missing = await sharedDatabaseProblems(config, secrets);
  if (missing.length > 0) throw new SharedDatabaseConfigError(missing);
}

async function missingSecret(secrets: Secrets, name: string): Promise<string[]> {
  try {
    await secrets.get(name);
    return [];
  } catch (err) {
    // Where each provider of RAMPART_SECRETS looked, e.g. `env (RAMPART_SECRET_MASTER_KEY)`.
    if (err instanceof SecretNotFoundError) return [`secret ${name} (looked in: ${err.tried.join(", ")})`];
    throw err;
  }
}
