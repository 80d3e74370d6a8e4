/** TypeBox schemas of the webhook admin routes. */
import { Type } from "@sinclair/typebox";
import { WEBHOOK_EVENT_STATES } from "./inbox.js";

export const WebhookState = Type.Union(WEBHOOK_EVENT_STATES.map((s) => Type.Literal(s)));

const Time = Type.String({ format: "date-time", maxLength: 40 });

export const WebhookEventSchema = Type.Object(
  {
    id: Type.String({ maxLength: 64 }),
    endpoint: Type.String({ maxLength: 64 }),
    provider: Type.String({ maxLength: 32 }),
    eventId: Type.String({ maxLength: 300, description: "The event's key, from signed content only: Stripe's body `id`, `webhook-id`, or `sha256:<hex>` of the body (GitHub)." }),
    deliveryId: Type.Union([Type.String({ maxLength: 255 }), Type.Null()], { description: "The delivery id header as received (`X-GitHub-Delivery`, `webhook-id`); unsigned for GitHub." }),
    type: Type.Union([Type.String({ maxLength: 255 }), Type.Null()]),
    state: WebhookState,
    attempts: Type.Integer({ minimum: 0 }),
    lastError: Type.Union([Type.String({ maxLength: 500 }), Type.Null()]),
    receivedAt: Time,
    nextAttemptAt: Time,
    processedAt: Type.Union([Time, Type.Null()]),
  },
  { additionalProperties: false },
);

export const ListWebhooksQuery = Type.Object(
  {
    endpoint: Type.Optional(Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,63}$", maxLength: 64 })),
    state: Type.Optional(WebhookState),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);

export const WebhookIdParams = Type.Object({ id: Type.String({ format: "uuid", maxLength: 36 }) }, { additionalProperties: false });
