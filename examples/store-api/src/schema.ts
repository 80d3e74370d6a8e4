/**
 * The store's own tables, next to Rampart's in the same database. The
 * migrations are handed to `createRuntime`, which runs them after Rampart's
 * under one lock, so several instances starting at once apply each exactly once.
 */
import { sql, type ColumnType, type Generated, type Migration, type Selectable } from "kysely";
import type { Database } from "rampart";

// A type alias, not an interface: Kysely's withTables() needs its implicit index signature.
export type StoreTables = {
  products: {
    id: string;
    name: string;
    price_cents: number;
    created_by: string;
    created_at: Generated<Date>;
  };
  orders: {
    id: string;
    user_id: string;
    status: "pending" | "paid" | "refunded";
    total_cents: number;
    /** `rp1:` ciphertext under the customer's own key: erasing the customer shreds it. */
    shipping_address_enc: string;
    payment_intent_id: string | null;
    created_at: Generated<Date>;
    paid_at: ColumnType<Date | null, Date | undefined, Date>;
    refunded_at: ColumnType<Date | null, Date | undefined, Date>;
  };
  order_items: {
    order_id: string;
    product_id: string;
    quantity: number;
    unit_price_cents: number;
  };
};

export type OrderRow = Selectable<StoreTables["orders"]>;
export type ProductRow = Selectable<StoreTables["products"]>;

/** The runtime's Kysely instance, typed with the store's tables as well as Rampart's. */
export function storeDb(db: Database) {
  return db.kysely.withTables<StoreTables>();
}

export type StoreDb = ReturnType<typeof storeDb>;

export const migrations: Record<string, Migration> = {
  // Names sort in the order they apply; never edit an applied one, add a new one.
  "0001-catalog-and-orders": {
    async up(db) {
      await db.schema
        .createTable("products")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("price_cents", "integer", (c) => c.notNull().check(sql`price_cents > 0`))
        .addColumn("created_by", "text", (c) => c.notNull().references("rampart_users.id"))
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // Orders keep their user id: an erased account stays as a tombstone row, and
      // the bookkeeping survives it while the address becomes unreadable.
      await db.schema
        .createTable("orders")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("rampart_users.id"))
        .addColumn("status", "text", (c) => c.notNull().check(sql`status in ('pending', 'paid', 'refunded')`))
        .addColumn("total_cents", "integer", (c) => c.notNull())
        .addColumn("shipping_address_enc", "text", (c) => c.notNull())
        .addColumn("payment_intent_id", "text")
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("paid_at", "timestamptz")
        .addColumn("refunded_at", "timestamptz")
        .execute();
      await db.schema.createIndex("orders_user_id").on("orders").column("user_id").execute();
      await db.schema
        .createTable("order_items")
        .addColumn("order_id", "text", (c) => c.notNull().references("orders.id").onDelete("cascade"))
        .addColumn("product_id", "text", (c) => c.notNull().references("products.id"))
        .addColumn("quantity", "integer", (c) => c.notNull().check(sql`quantity > 0`))
        .addColumn("unit_price_cents", "integer", (c) => c.notNull())
        .addPrimaryKeyConstraint("order_items_pkey", ["order_id", "product_id"])
        .execute();
    },
    async down(db) {
      await db.schema.dropTable("order_items").execute();
      await db.schema.dropTable("orders").execute();
      await db.schema.dropTable("products").execute();
    },
  },
};
