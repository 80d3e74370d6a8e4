/**
 * The upstream language model: one chat completion over HTTP
 * (`POST <LLM_URL>/chat/completions`, the OpenAI-compatible API that OpenAI,
 * vLLM, Ollama and most gateways speak), made through a Rampart upstream: a
 * deadline per attempt, retries with backoff, one circuit breaker for every
 * request of the process, and its counters in `/metrics`.
 */
import type { Runtime } from "rampart";
import { isTransientHttpStatus } from "rampart/resilience";
import type { LlmSettings } from "./settings.js";

export interface Completion {
  text: string;
  /** What the model reports the call used (prompt and completion): what the user is charged. */
  tokens: number;
  model: string;
}

/** The model answered, but not with a completion: an error status, or a body of the wrong shape. */
export class LlmAnswerError extends Error {
  override readonly name = "LlmAnswerError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  /** 5xx, 429, 408: the model is failing or overloaded, and another attempt may succeed. */
  get transient(): boolean {
    return this.status !== undefined && isTransientHttpStatus(this.status);
  }
}

export interface Llm {
  /** A report on `topic`, at most `allowance` tokens long (the caller's remaining quota). */
  complete(topic: string, allowance: number): Promise<Completion>;
}

const SYSTEM_PROMPT = "You write short, factual reports in Markdown. Say so when you are unsure.";

export function createLlm(runtime: Runtime, settings: LlmSettings): Llm {
  // In the runtime's registry, so /metrics lists it with Rampart's own upstreams.
  const upstream = runtime.upstreams.create("llm", {
    timeoutMs: settings.timeoutMs,
    retries: settings.retries,
    backoff: { initialDelayMs: 200, maxDelayMs: 2_000 },
    breaker: { kind: "consecutive", failures: settings.breakerFailures, halfOpenAfterMs: settings.breakerCooldownMs },
    // A 400 or 401 is the model's answer: repeating it would not help, and it says nothing about the model's health.
    isFailure: (err) => !(err instanceof LlmAnswerError) || err.transient,
  });

  return {
    async complete(topic, allowance) {
      // Read per call (the secrets cache serves it), so a rotated key is used without a restart.
      const apiKey = await runtime.secrets.getOptional("llm-api-key");
      const body = JSON.stringify({
        model: settings.model,
        max_tokens: Math.min(allowance, settings.maxTokens),
        messages: [
          { role: "system", content: SYSTEM_PROMPT },
          { role: "user", content: `Write a report on: ${topic}` },
        ],
      });
      // A completion changes nothing upstream, so an attempt cut off by the deadline may be repeated (it only costs tokens).
      return upstream.execute(
        async (signal) => {
          const res = await fetch(`${settings.url}/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
            body,
            signal,
          });
          if (!res.ok) throw new LlmAnswerError(`the model answered HTTP ${res.status}`, res.status);
          return completionOf(await res.json().catch(() => undefined), settings.model);
        },
        { idempotent: true },
      );
    },
  };
}

function completionOf(body: unknown, fallbackModel: string): Completion {
  const b = body as { model?: unknown; choices?: { message?: { content?: unknown } }[]; usage?: { total_tokens?: unknown } } | undefined;
  const text = b?.choices?.[0]?.message?.content;
  const tokens = b?.usage?.total_tokens;
  if (typeof text !== "string" || typeof tokens !== "number" || !Number.isSafeInteger(tokens) || tokens < 0) {
    throw new LlmAnswerError("the model's answer is not a completion with usage.total_tokens");
  }
  return { text, tokens, model: typeof b?.model === "string" ? b.model : fallbackModel };
}
