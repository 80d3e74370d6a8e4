/** The product catalogue: anyone may browse it, only holders of `products:write` change it. */
import { randomUUID } from "node:crypto";
import { Type, type Static } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import { Envelope, ok } from "rampart";
import type { ProductRow, StoreDb } from "./schema.js";

const Product = Type.Object(
  { id: Type.String(), name: Type.String(), priceCents: Type.Integer(), createdAt: Type.String() },
  { additionalProperties: false },
);

const NewProduct = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), priceCents: Type.Integer({ minimum: 1, maximum: 100_000_000 }) },
  { additionalProperties: false },
);

function toProduct(row: Pick<ProductRow, "id" | "name" | "price_cents" | "created_at">): Static<typeof Product> {
  return { id: row.id, name: row.name, priceCents: row.price_cents, createdAt: row.created_at.toISOString() };
}

export const catalogRoutes: FastifyPluginAsync<{ db: StoreDb }> = async (app, { db }) => {
  app.get(
    "/products",
    { schema: { summary: "The catalogue", response: { 200: Envelope(Type.Object({ products: Type.Array(Product) })) } } },
    async (request) => {
      const rows = await db.selectFrom("products").select(["id", "name", "price_cents", "created_at"]).orderBy("created_at").orderBy("id").limit(100).execute();
      return ok(request, { products: rows.map(toProduct) });
    },
  );

  app.post(
    "/products",
    {
      preHandler: app.rampart.guard("products:write"),
      schema: { summary: "Add a product (editors)", body: NewProduct, response: { 201: Envelope(Type.Object({ product: Product })) } },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof NewProduct>;
      const row = await db
        .insertInto("products")
        .values({ id: randomUUID(), name: body.name, price_cents: body.priceCents, created_by: app.rampart.principalOf(request).userId })
        .returning(["id", "name", "price_cents", "created_at"])
        .executeTakeFirstOrThrow();
      return reply.code(201).send(ok(request, { product: toProduct(row) }));
    },
  );
};
