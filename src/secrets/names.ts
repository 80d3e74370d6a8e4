/**
 * Secret names and how they map to places: names are kebab-case
 * (`master-key`, `jwt-signing`), which keeps them safe as file names, Vault
 * keys and AWS secret ids, and gives each one environment variable
 * (`master-key` → `RAMPART_SECRET_MASTER_KEY`).
 */
import { InvalidSecretNameError } from "./errors.js";

const NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_NAME_LENGTH = 128;

/** Prefix of the environment variables (and dotenv keys) that hold secrets. */
export const ENV_PREFIX = "RAMPART_SECRET_";

/** True when `name` is a valid kebab-case secret name. */
export function isSecretName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME.test(name);
}

/** Throws InvalidSecretNameError unless `name` is a valid secret name. */
export function assertSecretName(name: string): void {
  if (typeof name !== "string" || !isSecretName(name)) throw new InvalidSecretNameError(String(name));
}

/** The environment variable that holds `name`: `master-key` → `RAMPART_SECRET_MASTER_KEY`. */
export function envVarFor(name: string): string {
  return ENV_PREFIX + name.toUpperCase().replace(/-/g, "_");
}

/** The secret name an environment variable holds, or undefined when it is not a secret variable. */
export function nameFromEnvVar(variable: string): string | undefined {
  if (!variable.startsWith(ENV_PREFIX)) return undefined;
  const name = variable.slice(ENV_PREFIX.length).toLowerCase().replace(/_/g, "-");
  return isSecretName(name) ? name : undefined;
}
