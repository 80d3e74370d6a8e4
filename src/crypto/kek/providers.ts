/**
 * The table of KEK providers a runtime can select with RAMPART_KMS. Built-in
 * providers (builtins.ts) and a host app's own are registered the same way: a
 * definition with a name, a factory and, optionally, production checks. The
 * table belongs to one runtime (no module state), so two apps in one process
 * can register different providers.
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../../config/index.js";
import type { Tables } from "../../db/tables.js";
import type { UpstreamRegistry } from "../../resilience/index.js";
import type { Clock } from "../../runtime/clock.js";
import type { Secrets } from "../../secrets/types.js";
import { CryptoConfigError, UnknownKekProviderError } from "../errors.js";
import { isKekProviderName, type KekProvider } from "./types.js";

export type KekConfig = Pick<
  Config,
  "kms" | "nodeEnv" | "dataDir" | "databaseUrl" | "pkcs11Module" | "pkcs11TokenLabel" | "pkcs11KeyLabel" | "awsKmsKeyId" | "vaultTransitAddr" | "vaultTransitMount" | "vaultTransitKey"
>;

/** What a provider factory receives from the runtime. An app provider reads its own settings from the app's code or config. */
export interface KekDeps {
  config: KekConfig;
  db: Kysely<Tables>;
  secrets: Secrets;
  log: Logger;
  clock: Clock;
  /** The runtime's upstreams; a network provider registers its own here so `/metrics` shows it. */
  upstreams?: UpstreamRegistry;
}

export interface KekProviderDefinition {
  /** The RAMPART_KMS value that selects it, stored in every wrapped-key header: lower-case letters, digits, dashes. */
  readonly name: string;
  /** Opens the provider; closed by the keyring that opened it. Fails with a message naming a missing setting. */
  create(deps: KekDeps): Promise<KekProvider>;
  /**
   * Problems that must stop a production start (`rampart preflight`, `serve`
   * with NODE_ENV=production), each prefixed `RAMPART_KMS=<name>: `; empty
   * when the settings are fit for production.
   */
  preflight?(config: KekConfig, secrets: Secrets): Promise<string[]>;
}

/** The KEK providers of one runtime, by name. */
export class KekProviderRegistry {
  private readonly byName = new Map<string, KekProviderDefinition>();

  constructor(definitions: Iterable<KekProviderDefinition> = []) {
    for (const d of definitions) this.register(d);
  }

  /** Adds a provider; a malformed or already registered name is refused, naming it. */
  register(definition: KekProviderDefinition): this {
    const { name } = definition;
    if (typeof name !== "string" || !isKekProviderName(name)) {
      throw new CryptoConfigError(`KEK provider name: expected lower-case letters, digits and dashes (1-32, starting with a letter), instead got '${String(name)}'`);
    }
    if (this.byName.has(name)) throw new CryptoConfigError(`KEK provider '${name}' is already registered`);
    if (typeof definition.create !== "function") throw new CryptoConfigError(`KEK provider '${name}': expected a create(deps) function, instead got ${typeof definition.create}`);
    this.byName.set(name, definition);
    return this;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Registered names, in registration order. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The definition of `name`; CryptoConfigError naming it and the known providers when none is registered. */
  resolve(name: string): KekProviderDefinition {
    const d = this.byName.get(name);
    if (!d) throw new UnknownKekProviderError(name, this.names());
    return d;
  }

  /** Opens the provider RAMPART_KMS names; the provider must report that name (it is stored in every header). */
  async create(deps: KekDeps): Promise<KekProvider> {
    const definition = this.resolve(deps.config.kms);
    const provider = await definition.create(deps);
    if (provider.name !== definition.name) {
      await provider.close().catch(() => undefined);
      throw new CryptoConfigError(`KEK provider '${definition.name}': create() returned a provider named '${provider.name}'`);
    }
    return provider;
  }
}
