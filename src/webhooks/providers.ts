/**
 * The verifier of each supported provider, by the name used in endpoint
 * configuration (`payments=stripe:stripe-webhook`).
 */
import { verifyGithub } from "./github.js";
import { verifyStandard } from "./standard.js";
import { verifyStripe } from "./stripe.js";
import type { WebhookProvider, WebhookVerifier } from "./verification.js";

export const webhookVerifiers: Readonly<Record<WebhookProvider, WebhookVerifier>> = Object.freeze({
  stripe: verifyStripe,
  standard: verifyStandard,
  github: verifyGithub,
});

export const webhookProviders = Object.keys(webhookVerifiers) as WebhookProvider[];

/** Whether `name` is a supported provider. */
export function isWebhookProvider(name: string): name is WebhookProvider {
  return Object.hasOwn(webhookVerifiers, name);
}
