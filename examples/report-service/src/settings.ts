/**
 * The app's own settings, read from the environment next to Rampart's
 * (`loadConfig`). A bad value stops the start with one line naming the
 * variable, as Rampart does for its own.
 */
export interface LlmSettings {
  /** Base URL of an OpenAI-compatible API (`https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`). */
  url: string;
  model: string;
  /** Deadline of one attempt. */
  timeoutMs: number;
  /** Extra attempts after a timeout, a 5xx or a connection error. */
  retries: number;
  /** Consecutive failed attempts that open the circuit breaker. */
  breakerFailures: number;
  /** How long the open breaker refuses calls before it lets one trial call through. */
  breakerCooldownMs: number;
  /** Upper bound of `max_tokens` per report; the user's remaining allowance lowers it. */
  maxTokens: number;
}

export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new SettingsError(`${name}: expected an integer >= ${min}, instead got '${raw}'`);
  return value;
}

export function loadLlmSettings(env: NodeJS.ProcessEnv): LlmSettings {
  const url = env.LLM_URL;
  if (!url) throw new SettingsError("LLM_URL: expected the base URL of an OpenAI-compatible API, instead got nothing");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The value is not echoed: a URL may carry credentials.
    throw new SettingsError("LLM_URL: expected an http(s) URL, instead got a value that does not parse as a URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new SettingsError(`LLM_URL: expected an http(s) URL, instead got '${parsed.protocol}'`);
  return {
    url: url.replace(/\/+$/, ""),
    model: env.LLM_MODEL || "gpt-4o-mini",
    timeoutMs: int(env, "LLM_TIMEOUT_MS", 30_000, 1),
    retries: int(env, "LLM_RETRIES", 1, 0),
    breakerFailures: int(env, "LLM_BREAKER_FAILURES", 5, 1),
    breakerCooldownMs: int(env, "LLM_BREAKER_COOLDOWN_MS", 30_000, 1),
    maxTokens: int(env, "LLM_MAX_TOKENS", 1_024, 1),
  };
}
