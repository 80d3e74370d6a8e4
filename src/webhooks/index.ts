/**
 * Public API of inbound webhooks: the verifiers (Stripe, Standard Webhooks,
 * GitHub) as library functions, their shared error and types, and the
 * Fastify raw-body parser and verifying route.
 */
export {
  WebhookVerificationError,
  activeSecrets,
  bytesEqual,
  type WebhookProvider,
  type WebhookFailureReason,
  type WebhookRequest,
  type VerifyOptions,
  type VerifiedWebhook,
  type WebhookVerifier,
} from "./verification.js";
export { verifyStripe } from "./stripe.js";
export { verifyStandard, standardWebhookKey } from "./standard.js";
export { verifyGithub } from "./github.js";
export { webhookVerifiers, webhookProviders, isWebhookProvider } from "./providers.js";
export { rawBodyParser, rawBodyOf, webhooksPlugin, type RawBodyOptions, type WebhookEndpoint, type WebhookDelivery, type WebhookRejection, type WebhooksPluginOptions } from "./plugin.js";
export { parseWebhookEndpoints, type WebhookEndpointConfig } from "./endpoints-config.js";
export { WebhookInbox, WEBHOOK_EVENT_STATES, identify, type WebhookEventState, type WebhookEventView, type InboxDelivery, type ListQuery } from "./inbox.js";
export { WebhookDispatcher, retryDelayMs, type WebhookEvent, type WebhookHandler, type DispatcherOptions } from "./dispatcher.js";
export { createWebhooks, type Webhooks, type WebhooksOptions } from "./service.js";
export { webhookRoutes, type WebhookRoutesOptions } from "./routes.js";
