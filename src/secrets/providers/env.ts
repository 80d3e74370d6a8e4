/**
 * The `env` provider: secret `foo-bar` is the environment variable
 * `RAMPART_SECRET_FOO_BAR`. Reads the map it was given (process.env at start-up),
 * so tests and embedders can pass their own.
 */
import { envVarFor, nameFromEnvVar } from "../names.js";
import type { SecretListing, SecretProvider, SecretValue } from "../provider.js";

export class EnvProvider implements SecretProvider {
  readonly id = "env";

  constructor(private readonly env: Record<string, string | undefined>) {}

  locate(name: string): string {
    return `env (${envVarFor(name)})`;
  }

  async load(name: string): Promise<SecretValue | undefined> {
    const value = this.env[envVarFor(name)];
    return value === undefined ? undefined : { value };
  }

  async list(): Promise<SecretListing[]> {
    const out: SecretListing[] = [];
    for (const [variable, value] of Object.entries(this.env)) {
      const name = nameFromEnvVar(variable);
      if (name !== undefined && value !== undefined && value !== "") out.push({ name });
    }
    return out;
  }
}
