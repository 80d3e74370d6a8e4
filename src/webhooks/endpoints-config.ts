/**
 * `WEBHOOK_ENDPOINTS`: the inbound endpoints, `name=provider:secret-name`
 * separated by commas (`payments=stripe:stripe-webhook,ci=github:github-hook`).
 * Parsed once at boot; a malformed entry, an unknown provider, an invalid
 * secret name or a repeated endpoint name stops the process (the config
 * loader adds the variable name and the received value).
 */
import { ConfigValueError } from "../config/parsers.js";
import { isSecretName } from "../secrets/names.js";
import { isWebhookProvider, webhookProviders } from "./providers.js";
import type { WebhookProvider } from "./verification.js";

/** One configured endpoint: `POST /v1/webhooks/<name>`, verified by `provider` with the secret(s) named `secret`. */
export interface WebhookEndpointConfig {
  readonly name: string;
  readonly provider: WebhookProvider;
  /** Name of the secret in the secrets module (may hold several newline-separated values during a rotation). */
  readonly secret: string;
}

// The path segment of the route, and short enough to name an upstream (`webhooks.<name>`).
const ENDPOINT_NAME = /^[a-z0-9][a-z0-9_-]{0,47}$/;

/** Parses `WEBHOOK_ENDPOINTS`; the empty string means no endpoint. */
export function parseWebhookEndpoints(raw: string): readonly WebhookEndpointConfig[] {
  const out: WebhookEndpointConfig[] = [];
  const expected = `comma-separated name=provider:secret-name entries (name: lower-case letters, digits, '_' or '-', at most 48; provider: ${webhookProviders.join(", ")}; secret-name: kebab-case)`;
  for (const entry of raw.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const m = /^([^=]+)=([^:]+):(.+)$/.exec(entry);
    if (!m) throw new ConfigValueError(`${expected}; '${entry}' is not name=provider:secret-name`);
    const [name, provider, secret] = [m[1]!.trim(), m[2]!.trim(), m[3]!.trim()];
    if (!ENDPOINT_NAME.test(name)) throw new ConfigValueError(`${expected}; '${name}' is not a valid endpoint name`);
    if (!isWebhookProvider(provider)) throw new ConfigValueError(`${expected}; '${provider}' is not a supported provider`);
    if (!isSecretName(secret)) throw new ConfigValueError(`${expected}; '${secret}' is not a valid secret name`);
    if (out.some((e) => e.name === name)) throw new ConfigValueError(`${expected}; endpoint '${name}' is configured twice`);
    out.push(Object.freeze({ name, provider, secret }));
  }
  return Object.freeze(out);
}
