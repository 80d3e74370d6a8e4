/**
 * The table of secrets provider schemes a runtime accepts in RAMPART_SECRETS
 * (`env`, `files:<dir>`, an app's `myvault:<path>`). Built-in schemes
 * (builtin-schemes.ts) and a host app's are registered the same way. A scheme
 * is opened once per chain, before its first entry, so its entries can share
 * a client, a login and an upstream, which close with the chain. The table
 * belongs to one runtime (no module state).
 */
import { ConfigError, type Config } from "../config/index.js";
import type { Logger, SecretRedactor } from "../log/index.js";
import type { Upstream } from "../resilience/index.js";
import type { Clock } from "../runtime/clock.js";
import type { SecretProvider } from "./provider.js";

/** What a scheme receives when a chain opens it. An app scheme reads its own settings from the app's code or config. */

/** A RAMPART_SECRETS entry whose scheme nobody registered (the CLI then says how an app's own reach it). */
export class UnknownSecretsSchemeError extends ConfigError {
  constructor(
    readonly scheme: string,
    entry: string,
    usages: readonly string[],
  ) {
    super("RAMPART_SECRETS", `entries of a registered scheme (${usages.join(", ")})`, `'${entry}': unknown scheme '${scheme}'`);
  }
}

export interface SecretsSchemeContext {
  readonly config: Config;
  /** The environment the `env` provider reads. */
  readonly env: Record<string, string | undefined>;
  /** Register every credential the scheme holds here, so no log line can print it. */
  readonly redactor: SecretRedactor;
  readonly clock: Clock;
  readonly log?: Logger;
  /**
   * The upstream `name` (e.g. `secrets.vault`) with the SECRETS_PROVIDER_TIMEOUT_MS
   * deadline, retries and breaker: the runtime's (shown in `/metrics`) when
   * there is one. Give it to the providers as their `upstream`.
   */
  upstream(name: string): Upstream;
}

/** A scheme opened for one chain: makes its entries' providers; closed with the chain. */
export interface OpenedSecretsScheme {
  /** The provider of one entry; `argument` is what follows `scheme:` (empty when there is none). */
  provider(argument: string): SecretProvider;
  close?(): Promise<void> | void;
}

export interface SecretsProviderDefinition {
  /** The scheme in RAMPART_SECRETS (`myvault` for `myvault:<path>`): lower-case letters, digits, dashes. */
  readonly scheme: string;
  /** The accepted form for error messages and docs, e.g. `vault:<mount>/<path>`. */
  readonly usage: string;
  /** Whether `argument` is acceptable; default: any. A refused entry stops the start, naming it and `usage`. */
  accepts?(argument: string): boolean;
  /** Opens the scheme for one chain; throws a ConfigError naming a missing setting. */
  open(context: SecretsSchemeContext): OpenedSecretsScheme;
}

const SCHEME = /^[a-z][a-z0-9-]{0,31}$/;

/** Splits one `RAMPART_SECRETS` entry into its scheme and argument (`files:/run/secrets` → files, /run/secrets). */
export function parseChainEntry(entry: string): { kind: string; arg: string } {
  const i = entry.indexOf(":");
  return i < 0 ? { kind: entry, arg: "" } : { kind: entry.slice(0, i), arg: entry.slice(i + 1) };
}

/** The secrets provider schemes of one runtime. */
export class SecretsProviderRegistry {
  private readonly byScheme = new Map<string, SecretsProviderDefinition>();

  constructor(definitions: Iterable<SecretsProviderDefinition> = []) {
    for (const d of definitions) this.register(d);
  }

  /** Adds a scheme; a malformed or already registered one is refused, naming it. */
  register(definition: SecretsProviderDefinition): this {
    const { scheme } = definition;
    if (typeof scheme !== "string" || !SCHEME.test(scheme)) {
      throw new ConfigError("secrets provider scheme", "lower-case letters, digits and dashes (1-32, starting with a letter)", `'${String(scheme)}'`);
    }
    if (this.byScheme.has(scheme)) throw new ConfigError("secrets provider scheme", "a scheme not registered yet", `'${scheme}', which is already registered`);
    if (typeof definition.open !== "function") throw new ConfigError(`secrets provider scheme '${scheme}'`, "an open(context) function", typeof definition.open);
    this.byScheme.set(scheme, definition);
    return this;
  }

  has(scheme: string): boolean {
    return this.byScheme.has(scheme);
  }

  /** Registered schemes, in registration order. */
  schemes(): string[] {
    return [...this.byScheme.keys()];
  }

  /** The definition serving one RAMPART_SECRETS entry; a ConfigError names the entry when its scheme is unknown or its argument refused. */
  resolve(entry: string): { definition: SecretsProviderDefinition; arg: string } {
    const { kind, arg } = parseChainEntry(entry);
    const definition = this.byScheme.get(kind);
    if (!definition) {
      throw new UnknownSecretsSchemeError(kind, entry, [...this.byScheme.values()].map((d) => d.usage));
    }
    if (definition.accepts && !definition.accepts(arg)) throw new ConfigError("RAMPART_SECRETS", definition.usage, `'${entry}'`);
    return { definition, arg };
  }
}
