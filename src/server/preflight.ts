/**
 * The production preflight: every setting that production refuses, gathered
 * from each capability's own preflight (crypto, passwords, secrets, HTTP and
 * deployment, the TLS of the database connection) into one list of `{ variable, problem }`, so an operator sees
 * all of them at once rather than one per failed start. `rampart preflight`
 * prints the list; `serve` with NODE_ENV=production runs it before anything
 * starts and throws PreflightError when the list is not empty.
 *
 * Framework-free: it reads the config and, for key material, the secrets.
 */
import type { Config } from "../config/index.js";
import { passwordPreflight } from "../auth/password/index.js";
import { ConfigError } from "../config/load.js";
import { cryptoPreflight, kekProviderRegistry, type KekProviderRegistry } from "../crypto/index.js";
import { databasePreflight } from "../db/preflight.js";
import { httpPreflight } from "../http/preflight.js";
import { formatProblems, PreflightError, type PreflightProblem } from "./preflight-error.js";
import { SecretRedactor, type Logger } from "../log/index.js";
import { systemClock } from "../runtime/clock.js";
import { runtimeLogger, type RuntimeOptions } from "../runtime/index.js";
import { createSecrets, resolveConnectionUrls, secretsPreflight, secretsProviderRegistry } from "../secrets/index.js";
import type { Secrets } from "../secrets/types.js";

/**
 * Splits a capability's one-line problem (`VAR: ...`, `VAR=value: ...`,
 * `secret name: ...`, `RAMPART_KMS=local: secret master-key ...`) into the
 * thing to change and the problem.
 */
export function splitProblem(text: string): PreflightProblem {
  const ctx = /^([A-Z][A-Z0-9_]*)(=\S+)?: ([\s\S]*)$/.exec(text);
  const rest = ctx ? ctx[3]! : text;
  const setting = ctx ? `${ctx[1]}${ctx[2] ?? ""}` : undefined;
  const within = (p: string) => (setting && setting.includes("=") ? `${p} (${setting})` : p);
  const secret = /^secret ([a-z0-9][a-z0-9-]*):? ([\s\S]*)$/.exec(rest);
  if (secret) return { variable: `secret ${secret[1]}`, problem: within(secret[2]!) };
  const named = /^([A-Z][A-Z0-9_]+) ([\s\S]*)$/.exec(rest);
  if (ctx && named) return { variable: named[1]!, problem: within(named[2]!) };
  if (ctx) return { variable: ctx[1]!, problem: within(rest) };
  return { variable: "configuration", problem: text };
}

/**
 * Every production refusal for `config`, checked as production whatever
 * NODE_ENV says (so `rampart preflight` can vet a configuration before it is
 * deployed). `secrets` supplies the key material the crypto checks inspect.
 */
export async function productionPreflight(config: Config, secrets: Secrets, kekProviders?: KekProviderRegistry): Promise<PreflightProblem[]> {
  const problems: PreflightProblem[] = [];
  // Connection URLs the variables leave unset are checked as the runtime will use them: from their secrets.
  let resolved = config;
  let databaseSource = "DATABASE_URL";
  try {
    const connections = await resolveConnectionUrls(config, secrets);
    resolved = connections.config;
    if (connections.fromSecrets.has("databaseUrl")) databaseSource = "secret database-url";
  } catch (err) {
    if (err instanceof ConfigError) problems.push({ variable: err.variable, problem: `expected ${err.expected}, instead got ${err.received}` });
    else problems.push({ variable: "RAMPART_SECRETS", problem: `connection URLs could not be read: ${err instanceof Error ? err.message : String(err)}` });
  }
  const asProduction = { ...resolved, nodeEnv: "production" as const };
  try {
    problems.push(...(await cryptoPreflight(asProduction, secrets, kekProviders)).map(splitProblem));
  } catch (err) {
    // A provider that cannot be read is itself a reason not to start; its errors never carry a value.
    problems.push({ variable: "RAMPART_SECRETS", problem: `key material could not be read: ${err instanceof Error ? err.message : String(err)}` });
  }
  problems.push(...passwordPreflight(asProduction).map(splitProblem));
  problems.push(...secretsPreflight(asProduction).map(splitProblem));
  problems.push(...httpPreflight(asProduction));
  problems.push(...databasePreflight(asProduction, databaseSource));
  return problems;
}

export interface RunPreflightOptions {
  /** The environment the `env` secrets provider reads (process.env in the server). */
  env: Record<string, string | undefined>;
  log: Logger;
  redactor?: SecretRedactor;
  /** The app's KEK providers and secrets schemes (RuntimeOptions): their names are valid and their own checks run. */
  kekProviders?: RuntimeOptions["kekProviders"];
  secretsProviders?: RuntimeOptions["secretsProviders"];
}

/** Runs the preflight with a secrets service of its own (closed afterwards), before any runtime exists. */
export async function runPreflight(config: Config, options: RunPreflightOptions): Promise<PreflightProblem[]> {
  const schemes = secretsProviderRegistry(options.secretsProviders);
  const secrets = createSecrets({ config, env: options.env, redactor: options.redactor ?? new SecretRedactor(), log: options.log, clock: systemClock, refreshIntervalMs: 0, schemes });
  try {
    return await productionPreflight(config, secrets, kekProviderRegistry(options.kekProviders));
  } finally {
    await secrets.close();
  }
}

/**
 * For `serve` in production: throws PreflightError listing every problem, or
 * returns when there is none. Logs like the runtime would (same destination).
 */
export async function assertProductionReady(config: Config, runtime: RuntimeOptions = {}): Promise<void> {
  const redactor = runtime.redactor ?? new SecretRedactor();
  const log = runtimeLogger(config, runtime, redactor);
  const problems = await runPreflight(config, {
    env: runtime.env ?? process.env,
    log,
    redactor,
    ...(runtime.kekProviders ? { kekProviders: runtime.kekProviders } : {}),
    ...(runtime.secretsProviders ? { secretsProviders: runtime.secretsProviders } : {}),
  });
  if (problems.length > 0) throw new PreflightError(problems);
}

export { formatProblems, PreflightError, type PreflightProblem };
