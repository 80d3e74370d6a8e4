/**
 * Orders: a customer checks out (rate-limited), reads their own orders with
 * the shipping address decrypted, and an admin refunds a paid order (audited).
 */
import { randomUUID } from "node:crypto";
import { Type, type Static } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import { Envelope, ok, RampartError } from "rampart";
import type { OrderRow, StoreDb } from "./schema.js";

const Id = Type.String({ format: "uuid", maxLength: 36 });

const Address = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    line1: Type.String({ minLength: 1, maxLength: 200 }),
    line2: Type.Optional(Type.String({ maxLength: 200 })),
    city: Type.String({ minLength: 1, maxLength: 100 }),
    postalCode: Type.String({ minLength: 1, maxLength: 20 }),
    country: Type.String({ pattern: "^[A-Z]{2}$", maxLength: 2 }),
  },
  { additionalProperties: false },
);
type Address = Static<typeof Address>;

const NewOrder = Type.Object(
  {
    items: Type.Array(Type.Object({ productId: Id, quantity: Type.Integer({ minimum: 1, maximum: 100 }) }, { additionalProperties: false }), { minItems: 1, maxItems: 20 }),
    shippingAddress: Address,
  },
  { additionalProperties: false },
);

const Timestamp = Type.Union([Type.String(), Type.Null()]);
const OrderSummary = Type.Object(
  {
    id: Type.String(),
    status: Type.Union([Type.Literal("pending"), Type.Literal("paid"), Type.Literal("refunded")]),
    totalCents: Type.Integer(),
    createdAt: Type.String(),
    paidAt: Timestamp,
    refundedAt: Timestamp,
  },
  { additionalProperties: false },
);
const Order = Type.Object(
  {
    ...OrderSummary.properties,
    items: Type.Array(Type.Object({ productId: Type.String(), quantity: Type.Integer(), unitPriceCents: Type.Integer() }, { additionalProperties: false })),
    shippingAddress: Address,
  },
  { additionalProperties: false },
);

const OrderParams = Type.Object({ id: Id }, { additionalProperties: false });
const RefundBody = Type.Object(
  { reason: Type.Union([Type.Literal("requested_by_customer"), Type.Literal("duplicate"), Type.Literal("fraudulent")]) },
  { additionalProperties: false },
);

/**
 * Binds an address ciphertext to its row: copied to another order or column it
 * no longer decrypts. The key is the customer's own (`encryptFor`), so erasing
 * the customer shreds every copy, backups included.
 */
export const addressContext = (orderId: string) => ({ table: "orders", column: "shipping_address_enc", id: orderId });

function toSummary(row: Pick<OrderRow, "id" | "status" | "total_cents" | "created_at" | "paid_at" | "refunded_at">): Static<typeof OrderSummary> {
  return {
    id: row.id,
    status: row.status,
    totalCents: row.total_cents,
    createdAt: row.created_at.toISOString(),
    paidAt: row.paid_at?.toISOString() ?? null,
    refundedAt: row.refunded_at?.toISOString() ?? null,
  };
}

export const orderRoutes: FastifyPluginAsync<{ db: StoreDb }> = async (app, { db }) => {
  const { crypto } = app.rampart.runtime;

  app.post(
    "/orders",
    {
      preHandler: app.rampart.guard("orders:write"),
      // The tight `checkout` policy instead of `default`: card-testing bots place orders in bursts.
      config: { rateLimit: { policy: "checkout" } },
      schema: { summary: "Check out: place an order awaiting payment", body: NewOrder, response: { 201: Envelope(Type.Object({ order: Order })) } },
    },
    async (request, reply) => {
      const userId = app.rampart.principalOf(request).userId;
      const body = request.body as Static<typeof NewOrder>;
      const quantities = new Map<string, number>();
      for (const item of body.items) quantities.set(item.productId, (quantities.get(item.productId) ?? 0) + item.quantity);
      const products = await db.selectFrom("products").select(["id", "price_cents"]).where("id", "in", [...quantities.keys()]).execute();
      const prices = new Map(products.map((p) => [p.id, p.price_cents]));
      const unknown = body.items.findIndex((item) => !prices.has(item.productId));
      if (unknown >= 0) throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: `body.items[${unknown}].productId`, message: "is not a product" }] } });

      const items = [...quantities].map(([productId, quantity]) => ({ productId, quantity, unitPriceCents: prices.get(productId)! }));
      const id = randomUUID();
      // Before the transaction: a customer's first encryption creates their key, which must not wait on it.
      const addressEnc = await crypto.encryptFor(userId, JSON.stringify(body.shippingAddress), addressContext(id));
      const row = await db.transaction().execute(async (trx) => {
        const order = await trx
          .insertInto("orders")
          .values({
            id,
            user_id: userId,
            status: "pending",
            total_cents: items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0),
            shipping_address_enc: addressEnc,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await trx
          .insertInto("order_items")
          .values(items.map((i) => ({ order_id: id, product_id: i.productId, quantity: i.quantity, unit_price_cents: i.unitPriceCents })))
          .execute();
        return order;
      });
      // A real store would now create the Stripe PaymentIntent with metadata.order_id = id (see payments.ts).
      return reply.code(201).send(ok(request, { order: { ...toSummary(row), items, shippingAddress: body.shippingAddress } }));
    },
  );

  app.get(
    "/orders/:id",
    {
      preHandler: app.rampart.guard("orders:read"),
      schema: { summary: "One of the caller's orders, with its shipping address", params: OrderParams, response: { 200: Envelope(Type.Object({ order: Order })) } },
    },
    async (request) => {
      const userId = app.rampart.principalOf(request).userId;
      const { id } = request.params as Static<typeof OrderParams>;
      // Another customer's order is answered as missing, so order ids cannot be probed.
      const row = await db.selectFrom("orders").selectAll().where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
      if (!row) throw new RampartError("NOT_FOUND", { message: "No such order." });
      const items = await db
        .selectFrom("order_items")
        .select(["product_id as productId", "quantity", "unit_price_cents as unitPriceCents"])
        .where("order_id", "=", id)
        .orderBy("product_id")
        .execute();
      const shippingAddress = JSON.parse(await crypto.decryptStringFor(userId, row.shipping_address_enc, addressContext(id))) as Address;
      return ok(request, { order: { ...toSummary(row), items, shippingAddress } });
    },
  );

  app.post(
    "/orders/:id/refund",
    {
      preHandler: app.rampart.guard("orders:refund"),
      schema: { summary: "Refund a paid order (admins; audited)", params: OrderParams, body: RefundBody, response: { 200: Envelope(Type.Object({ order: OrderSummary })) } },
    },
    async (request) => {
      const adminId = app.rampart.principalOf(request).userId;
      const { id } = request.params as Static<typeof OrderParams>;
      const { reason } = request.body as Static<typeof RefundBody>;
      const order = await db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom("orders").select(["status", "total_cents"]).where("id", "=", id).forUpdate().executeTakeFirst();
        if (!row) throw new RampartError("NOT_FOUND", { message: "No such order." });
        if (row.status !== "paid") throw new RampartError("ORDER_NOT_REFUNDABLE", { details: { status: row.status } });
        // A real store calls Stripe's refund API here, with the order id as its idempotency key.
        const refunded = await trx.updateTable("orders").set({ status: "refunded", refunded_at: new Date() }).where("id", "=", id).returningAll().executeTakeFirstOrThrow();
        // In the same transaction: the refund and its audit entry commit together or not at all.
        await app.rampart.events.emit("order.refunded", { actor: { type: "admin", id: adminId }, target: `order:${id}`, data: { amountCents: row.total_cents, reason } }, trx);
        return refunded;
      });
      return ok(request, { order: toSummary(order) });
    },
  );
};
