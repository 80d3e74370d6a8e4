/**
 * A small store on Rampart: a product catalogue that editors maintain, orders
 * whose shipping addresses are encrypted under each customer's own key,
 * payments confirmed by a signed Stripe webhook, a tight rate limit on
 * checkout, and audited refunds.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { createRuntime, loadConfig, rampart, rampartServerOptions, type RuntimeOptions } from "rampart";
import { catalogRoutes } from "./catalog.js";
import { orderRoutes } from "./orders.js";
import { handleStripePayments, STRIPE_ENDPOINT } from "./payments.js";
import { migrations, storeDb } from "./schema.js";

declare module "rampart" {
  // Makes guard(), events.emit() and RampartError accept the store's names (a typo is a type error).
  interface AppPermissions {
    "products:write": true;
    "orders:read": true;
    "orders:write": true;
    "orders:refund": true;
  }
  interface AppEvents {
    "order.refunded": true;
  }
  interface AppErrorCodes {
    ORDER_NOT_REFUNDABLE: true;
  }
}

/** Orders one customer may place per minute. */
export const CHECKOUT_PER_MINUTE = 5;

export interface BuildAppOptions {
  /** Where log lines go (default stdout): tests read them from a stream of their own. */
  logDestination?: RuntimeOptions["logDestination"];
}

export async function buildApp(options: BuildAppOptions = {}): Promise<FastifyInstance> {
  // The payment handler listens on this endpoint, so it is the default; the environment may still replace it.
  const config = loadConfig({ WEBHOOK_ENDPOINTS: `${STRIPE_ENDPOINT}=stripe:stripe-webhook`, ...process.env });
  // The runtime is built first, the store's tables migrating with Rampart's, so that the instance gets the
  // hardening only constructor options can give (strict bodies, trace ids as request ids, TRUST_PROXY) and the
  // runtime's logger, which masks every secret the runtime loads, in app.log and request.log too.
  const runtime = await createRuntime(config, { migrations, ...(options.logDestination ? { logDestination: options.logDestination } : {}) });
  const app = Fastify(rampartServerOptions(runtime));
  // Added before the plugin's own hooks, so it runs after them: requests in flight finish before the stores close.
  app.addHook("onClose", () => runtime.close());
  try {
    await app.register(rampart, {
      runtime,
      routes: { identity: true, admin: true, audit: true, gdpr: true, webhooks: true },
      permissions: ["products:write", "orders:read", "orders:write", "orders:refund"],
      // Every customer reads and places their own orders; editors keep the catalogue; admins hold every permission.
      roles: { user: ["orders:read", "orders:write"], editor: ["products:write"] },
      events: { "order.refunded": { audited: true, level: "warn", description: "An order was refunded." } },
      errors: { ORDER_NOT_REFUNDABLE: { status: 409, message: "Only a paid order can be refunded." } },
      rateLimit: { policies: [{ name: "checkout", limit: CHECKOUT_PER_MINUTE, windowMs: 60_000, by: "principal" }] },
    });

    const db = storeDb(runtime.db);
    await app.register(catalogRoutes, { prefix: "/v1", db });
    await app.register(orderRoutes, { prefix: "/v1", db });
    await handleStripePayments(app, db);
  } catch (err) {
    await runtime.close();
    throw err;
  }
  return app;
}
