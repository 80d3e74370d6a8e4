/**
 * One HTTP call to Vault's API with fetch. Responses are parsed here, and a
 * body that is not JSON becomes a fixed message: JSON.parse's own message
 * quotes the input, which for a KV read is the secret payload. No answer at
 * all and 5xx / 429 answers are transient ProviderErrors (retried, counted by
 * the `secrets.vault` circuit breaker); Vault's 4xx answers are not.
 */
import { traceHeaders } from "../../context/index.js";
import { isTransientHttpStatus } from "../../resilience/index.js";
import { ProviderError, safeReason } from "../errors.js";

export interface VaultEndpoint {
  /** Base URL without trailing slash, e.g. `https://vault.internal:8200`. */
  readonly addr: string;
  readonly namespace?: string | undefined;
}

export interface VaultResponse {
  readonly status: number;
  /** The parsed body; null when empty. */
  readonly body: unknown;
}

export interface VaultRequest {
  method: "GET" | "POST";
  /** API path after `/v1/`, e.g. `secret/data/app`. */
  path: string;
  token?: string;
  body?: unknown;
  signal: AbortSignal;
}

export async function vaultRequest(endpoint: VaultEndpoint, req: VaultRequest): Promise<VaultResponse> {
  const headers: Record<string, string> = { accept: "application/json", ...traceHeaders() };
  if (req.token !== undefined) headers["x-vault-token"] = req.token;
  if (endpoint.namespace !== undefined) headers["x-vault-namespace"] = endpoint.namespace;
  if (req.body !== undefined) headers["content-type"] = "application/json";
  const label = `${req.method} /v1/${req.path.split("?")[0] ?? ""}`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${endpoint.addr}/v1/${req.path}`, {
      method: req.method,
      headers,
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
      signal: req.signal,
      redirect: "error",
    });
    text = await res.text();
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new ProviderError(`${label} to ${endpoint.addr} failed: ${safeReason(cause ?? err)}`, { transient: true });
  }
  if (text.trim() === "") return { status: res.status, body: null };
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw vaultStatusError(`${label} answered HTTP ${res.status} with a body that is not JSON`, res.status);
  }
}

/** A ProviderError for an unexpected status, transient when Vault is failing (5xx: sealed, standby, overloaded; 429). */
export function vaultStatusError(message: string, status: number): ProviderError {
  return new ProviderError(message, { transient: isTransientHttpStatus(status) });
}

/** Reads `obj.a.b...` from untyped JSON. */
export function pick(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}
