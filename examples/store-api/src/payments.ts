/**
 * Payments are confirmed by Stripe, never by the client. Rampart's webhooks
 * group receives `POST /v1/webhooks/stripe`, verifies `Stripe-Signature`
 * against the secret `stripe-webhook` before anything parses the body, stores
 * the event once (by its signed `id`) and dispatches it here, retrying a
 * failed handler later. The order id travels in the PaymentIntent's metadata,
 * set when checkout creates the intent.
 */
import type { FastifyInstance } from "fastify";
import type { StoreDb } from "./schema.js";

export const STRIPE_ENDPOINT = "stripe";

interface StripeEvent {
  type: string;
  data: { object: { id: string; amount_received?: number; metadata?: Record<string, string> } };
}

export async function handleStripePayments(app: FastifyInstance, db: StoreDb): Promise<void> {
  const { log, secrets } = app.rampart.runtime;
  const endpoint = app.webhooks.endpoints.get(STRIPE_ENDPOINT);
  if (!endpoint) throw new Error(`WEBHOOK_ENDPOINTS has no '${STRIPE_ENDPOINT}' endpoint: orders could never be marked paid`);
  // Deliveries are refused (500) until the secret exists; say so at start rather than at the first payment.
  if ((await secrets.getOptional(endpoint.secret)) === undefined) {
    log.warn({ secret: endpoint.secret }, "the Stripe signing secret is not set: webhook deliveries fail until it is");
  }

  app.webhooks.on(STRIPE_ENDPOINT, async (event) => {
    if (event.type !== "payment_intent.succeeded") return;
    const intent = (JSON.parse(event.payload.toString("utf8")) as StripeEvent).data.object;
    const orderId = intent.metadata?.order_id;
    if (orderId === undefined) return;
    // Delivered at least once: only a pending order of exactly the amount received becomes paid, once.
    const { numUpdatedRows } = await db
      .updateTable("orders")
      .set({ status: "paid", paid_at: new Date(), payment_intent_id: intent.id })
      .where("id", "=", orderId)
      .where("status", "=", "pending")
      .where("total_cents", "=", intent.amount_received ?? -1)
      .executeTakeFirst();
    if (numUpdatedRows === 0n) log.warn({ eventId: event.eventId, orderId }, "payment_intent.succeeded matched no pending order of that amount");
  });
}
