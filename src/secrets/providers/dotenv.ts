/**
 * The `dotenv:<file>` provider: reads secrets from a .env file with the same
 * keys as the `env` provider (`RAMPART_SECRET_FOO_BAR`). The file is parsed on
 * every load, so an edited file is picked up at the next refresh, and nothing
 * is ever written into process.env (where child processes and crash dumps
 * would see it).
 */
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import dotenv from "dotenv";
import { ProviderError, safeReason } from "../errors.js";
import { envVarFor, nameFromEnvVar } from "../names.js";
import type { SecretListing, SecretProvider, SecretValue } from "../provider.js";

export class DotenvProvider implements SecretProvider {
  readonly id: string;
  private readonly file: string;

  constructor(file: string) {
    this.file = resolve(file);
    this.id = `dotenv:${file}`;
  }

  locate(name: string): string {
    return `${this.id} (${envVarFor(name)})`;
  }

  private async read(): Promise<{ parsed: Record<string, string>; mtimeMs: number }> {
    try {
      const [content, info] = await Promise.all([readFile(this.file), stat(this.file)]);
      return { parsed: dotenv.parse(content), mtimeMs: info.mtimeMs };
    } catch (err) {
      throw new ProviderError(`cannot read ${this.file}: ${safeReason(err)}`, { cause: err });
    }
  }

  async load(name: string): Promise<SecretValue | undefined> {
    const { parsed, mtimeMs } = await this.read();
    const value = parsed[envVarFor(name)];
    return value === undefined ? undefined : { value, updatedAt: mtimeMs };
  }

  async list(): Promise<SecretListing[]> {
    const { parsed, mtimeMs } = await this.read();
    const out: SecretListing[] = [];
    for (const [key, value] of Object.entries(parsed)) {
      const name = nameFromEnvVar(key);
      if (name !== undefined && value !== "") out.push({ name, updatedAt: mtimeMs });
    }
    return out;
  }
}
