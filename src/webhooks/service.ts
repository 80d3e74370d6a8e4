/**
 * The inbound-webhooks service of a runtime: the configured endpoints
 * (WEBHOOK_ENDPOINTS, secrets read through the secrets module at each
 * delivery, so a rotation applies without a restart), the inbox and the
 * dispatcher. Host applications register handlers with `on`.
 */
import type { Runtime } from "../runtime/index.js";
import { WebhookDispatcher, type WebhookHandler } from "./dispatcher.js";
import type { WebhookEndpointConfig } from "./endpoints-config.js";
import { WebhookInbox, type InboxDelivery } from "./inbox.js";
import type { WebhookEndpoint } from "./plugin.js";

export interface Webhooks {
  readonly inbox: WebhookInbox;
  readonly dispatcher: WebhookDispatcher;
  /** The configured endpoints, by name. */
  readonly endpoints: ReadonlyMap<string, WebhookEndpointConfig>;
  /** The endpoint as the verifying route uses it, or undefined (404). */
  endpoint(name: string): WebhookEndpoint | undefined;
  /** Stores a verified delivery and, when it is new, starts dispatching it. */
  receive(delivery: InboxDelivery): Promise<{ id: string; duplicate: boolean }>;
  /** Registers a handler for an endpoint name or `"*"`; returns its removal. */
  on(endpoint: string, handler: WebhookHandler): () => void;
  /** Dispatches every due event now (tests, maintenance); resolves with the number of attempts. */
  drain(): Promise<number>;
  close(): Promise<void>;
}

export interface WebhooksOptions {
  /** Endpoints (default: the runtime's WEBHOOK_ENDPOINTS). */
  endpoints?: readonly WebhookEndpointConfig[];
  /** Random source of the retry jitter (tests). */
  random?: () => number;
  /** Poll for due events (default true); tests drive `drain()` themselves. */
  poll?: boolean;
}

/** Builds the service on a runtime; polling starts at once and stops at `close`. */
export function createWebhooks(runtime: Runtime, options: WebhooksOptions = {}): Webhooks {
  const { config, db, crypto, clock, log, events, secrets } = runtime;
  const endpoints = new Map((options.endpoints ?? config.webhookEndpoints).map((e) => [e.name, e]));
  const now = () => clock.now();
  const inbox = new WebhookInbox(db.kysely, crypto, now);
  const dispatcher = new WebhookDispatcher({
    db: db.kysely,
    crypto,
    events,
    log,
    now,
    maxAttempts: config.webhookMaxAttempts,
    retryBaseMs: config.webhookRetryBaseMs,
    retryMaxMs: config.webhookRetryMaxMs,
    handlerTimeoutMs: config.webhookHandlerTimeoutMs,
    upstreams: runtime.upstreams,
    ...(options.random ? { random: options.random } : {}),
  });
  if (options.poll !== false) dispatcher.start(config.webhookPollIntervalMs);
  return {
    inbox,
    dispatcher,
    endpoints,
    endpoint(name) {
      const e = endpoints.get(name);
      return e ? { provider: e.provider, secrets: () => secrets.get(e.secret) } : undefined;
    },
    async receive(delivery) {
      const stored = await inbox.store(delivery);
      await events.emit("webhook.received", {
        actor: { type: "system" },
        target: `webhook-event:${stored.id}`,
        data: { endpoint: delivery.endpoint, provider: delivery.provider, eventId: stored.eventId, deliveryId: delivery.deliveryId, type: stored.type, duplicate: stored.duplicate, secretIndex: delivery.secretIndex },
      });
      if (!stored.duplicate) dispatcher.kick();
      return { id: stored.id, duplicate: stored.duplicate };
    },
    on: (endpoint, handler) => dispatcher.on(endpoint, handler),
    drain: () => dispatcher.drain(),
    close: () => dispatcher.close(),
  };
}
