/**
 * A small store on Rampart: a product catalogue that editors maintain, orders
 * whose shipping addresses are encrypted under each customer's own key,
 * payments confirmed by a signed Stripe webhook, a tight rate limit on
 * checkout, and audited refunds.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { loadConfig, rampart, rampartServerOptions } from "rampart";
import { createLogger, resolveLogFormat, SecretRedactor } from "rampart/log";
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

export async function buildApp(): Promise<FastifyInstance> {
  // The payment handler listens on this endpoint, so it is the default; the environment may still replace it.
  const config = loadConfig({ WEBHOOK_ENDPOINTS: `${STRIPE_ENDPOINT}=stripe:stripe-webhook`, ...process.env });
  // The hardening only constructor options can give (strict bodies, trace ids as request ids, TRUST_PROXY, ...),
  // built from the same configuration as the runtime the plugin creates.
  const log = createLogger({ level: config.logLevel, format: resolveLogFormat(config.logFormat, config.nodeEnv), redactor: new SecretRedactor() });
  // The first start on an empty embedded database runs every migration, which can outlast Fastify's default 10 s.
  const app = Fastify({ ...rampartServerOptions({ config, log }), pluginTimeout: 60_000 });

  await app.register(rampart, {
    config,
    migrations,
    routes: { identity: true, admin: true, audit: true, gdpr: true, webhooks: true },
    permissions: ["products:write", "orders:read", "orders:write", "orders:refund"],
    // Every customer reads and places their own orders; editors keep the catalogue; admins hold every permission.
    roles: { user: ["orders:read", "orders:write"], editor: ["products:write"] },
    events: { "order.refunded": { audited: true, level: "warn", description: "An order was refunded." } },
    errors: { ORDER_NOT_REFUNDABLE: { status: 409, message: "Only a paid order can be refunded." } },
    rateLimit: { policies: [{ name: "checkout", limit: CHECKOUT_PER_MINUTE, windowMs: 60_000, by: "principal" }] },
  });

  const db = storeDb(app.rampart.runtime.db);
  await app.register(catalogRoutes, { prefix: "/v1", db });
  await app.register(orderRoutes, { prefix: "/v1", db });
  await handleStripePayments(app, db);
  return app;
}
