/**
 * Orders end to end: checkout with an encrypted shipping address, payment
 * confirmed by a signed Stripe webhook, the checkout rate limit, an audited
 * refund, and erasure shredding the customer's addresses.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { DecryptionFailed } from "rampart/crypto";
import { CHECKOUT_PER_MINUTE } from "../src/app.js";
import { addressContext } from "../src/orders.js";
import { storeDb } from "../src/schema.js";
import { ADMIN, call, eventually, logIn, signUp, startStore, STRIPE_SECRET, type Customer, type Store } from "./support.js";

// Client addresses of this file, apart from the other file's: with Redis, rate-limit buckets outlive a file.
const ip = (n: number) => `10.2.0.${n}`;

const address = { name: "Ada Lovelace", line1: "12 Marylebone Crescent", city: "Lindenfield", postalCode: "NW1 4QR", country: "GB" };

/** What Stripe sends: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
function stripeDelivery(event: object, secret = STRIPE_SECRET, t = Math.floor(Date.now() / 1000)) {
  const payload = JSON.stringify(event);
  const signature = createHmac("sha256", secret).update(`${t}.${payload}`).digest("hex");
  return { payload, headers: { "content-type": "application/json", "stripe-signature": `t=${t},v1=${signature}` } };
}

function paymentSucceeded(orderId: string, amount: number) {
  return {
    id: `evt_${randomBytes(12).toString("hex")}`,
    object: "event",
    type: "payment_intent.succeeded",
    data: { object: { id: `pi_${randomBytes(12).toString("hex")}`, object: "payment_intent", amount_received: amount, currency: "eur", metadata: { order_id: orderId } } },
  };
}

describe("orders", () => {
  let store: Store;
  let admin: { id: string; token: string };
  let alice: Customer;
  let bob: Customer;
  let cup: { id: string; priceCents: number };
  let saucer: { id: string; priceCents: number };
  let order: { id: string; totalCents: number };

  before(async () => {
    store = await startStore();
    admin = await logIn(store.app, ADMIN.email, ADMIN.password, ip(1));
    const add = async (name: string, priceCents: number) =>
      (await call(store.app, "POST", "/v1/products", { token: admin.token, body: { name, priceCents }, ip: ip(1) })).body.data.product;
    cup = await add("Cup", 1250);
    saucer = await add("Saucer", 475);
    alice = await signUp(store.app, "alice", ip(2));
    bob = await signUp(store.app, "bob", ip(3));
  });
  after(() => store.close());

  test("checkout keeps the shipping address encrypted in the row; only its owner reads it back", async () => {
    const items = [
      { productId: cup.id, quantity: 2 },
      { productId: saucer.id, quantity: 1 },
    ];
    const placed = await call(store.app, "POST", "/v1/orders", { token: alice.token, body: { items, shippingAddress: address }, ip: alice.ip });
    assert.equal(placed.status, 201);
    assert.equal(placed.body.data.order.status, "pending");
    assert.equal(placed.body.data.order.totalCents, 2 * cup.priceCents + saucer.priceCents);
    order = placed.body.data.order;

    const row = await storeDb(store.app.rampart.runtime.db).selectFrom("orders").selectAll().where("id", "=", order.id).executeTakeFirstOrThrow();
    assert.match(row.shipping_address_enc, /^rp1:/);
    const stored = JSON.stringify(row);
    for (const part of [address.name, address.line1, address.city, address.postalCode, "Marylebone", "Lovelace"]) assert.ok(!stored.includes(part), `the row holds '${part}'`);

    const mine = await call(store.app, "GET", `/v1/orders/${order.id}`, { token: alice.token, ip: alice.ip });
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.body.data.order.shippingAddress, address);
    assert.deepEqual(
      mine.body.data.order.items,
      [
        { productId: cup.id, quantity: 2, unitPriceCents: cup.priceCents },
        { productId: saucer.id, quantity: 1, unitPriceCents: saucer.priceCents },
      ].sort((a, b) => a.productId.localeCompare(b.productId)),
    );
    const theirs = await call(store.app, "GET", `/v1/orders/${order.id}`, { token: bob.token, ip: bob.ip });
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.code, "NOT_FOUND");
  });

  test("a Stripe delivery signed with the endpoint's secret marks the order paid; a wrong signature is refused", async () => {
    const event = paymentSucceeded(order.id, order.totalCents);
    const forged = stripeDelivery(event, "whsec_not_the_store_secret");
    const refused = await store.app.inject({ method: "POST", url: "/v1/webhooks/stripe", payload: forged.payload, headers: forged.headers, remoteAddress: ip(9) });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().code, "WEBHOOK_SIGNATURE_INVALID");
    // The signature covers the body: a genuine signature over other bytes fails too.
    const genuine = stripeDelivery(event);
    const tampered = await store.app.inject({ method: "POST", url: "/v1/webhooks/stripe", payload: genuine.payload.replace(`"amount_received":${order.totalCents}`, '"amount_received":1'), headers: genuine.headers, remoteAddress: ip(9) });
    assert.equal(tampered.statusCode, 400);
    assert.equal((await call(store.app, "GET", `/v1/orders/${order.id}`, { token: alice.token, ip: alice.ip })).body.data.order.status, "pending");

    const accepted = await store.app.inject({ method: "POST", url: "/v1/webhooks/stripe", payload: genuine.payload, headers: genuine.headers, remoteAddress: ip(9) });
    assert.equal(accepted.statusCode, 200);
    assert.deepEqual(accepted.json().data, { received: true, duplicate: false });
    // Dispatch runs after the answer.
    const paid = await eventually(async () => {
      const res = await call(store.app, "GET", `/v1/orders/${order.id}`, { token: alice.token, ip: alice.ip });
      return res.body.data.order.status === "paid" ? res.body.data.order : undefined;
    });
    assert.ok(paid.paidAt);
    // Stripe retries deliveries: the same event is stored and handled once.
    const again = await store.app.inject({ method: "POST", url: "/v1/webhooks/stripe", payload: genuine.payload, headers: genuine.headers, remoteAddress: ip(9) });
    assert.deepEqual(again.json().data, { received: true, duplicate: true });
  });

  test(`checkout allows ${CHECKOUT_PER_MINUTE} orders a minute per customer, then 429 with Retry-After; other routes still answer`, async () => {
    const carol = await signUp(store.app, "carol", ip(4));
    const body = { items: [{ productId: saucer.id, quantity: 1 }], shippingAddress: { ...address, name: "Carol" } };
    let first = "";
    for (let i = 0; i < CHECKOUT_PER_MINUTE; i++) {
      const res = await call(store.app, "POST", "/v1/orders", { token: carol.token, body, ip: carol.ip });
      assert.equal(res.status, 201, `order ${i + 1}`);
      first ||= res.body.data.order.id;
    }
    const limited = await call(store.app, "POST", "/v1/orders", { token: carol.token, body, ip: carol.ip });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.success, false);
    assert.equal(limited.body.code, "RATE_LIMITED");
    assert.ok(Number(limited.headers["retry-after"]) >= 1);
    assert.match(String(limited.headers["ratelimit-policy"]), new RegExp(`^"checkout";q=${CHECKOUT_PER_MINUTE};w=60`));

    assert.equal((await call(store.app, "GET", `/v1/orders/${first}`, { token: carol.token, ip: carol.ip })).status, 200);
    assert.equal((await call(store.app, "GET", "/v1/products", { token: carol.token, ip: carol.ip })).status, 200);
    // The bucket is the customer's own: another customer still checks out.
    assert.equal((await call(store.app, "POST", "/v1/orders", { token: bob.token, body, ip: bob.ip })).status, 201);
  });

  test("refunds are for admins, only of paid orders, and land in the audit log's verified hash chain", async () => {
    const path = `/v1/orders/${order.id}/refund`;
    const body = { reason: "requested_by_customer" };
    const byCustomer = await call(store.app, "POST", path, { token: alice.token, body, ip: alice.ip });
    assert.equal(byCustomer.status, 403);
    assert.equal(byCustomer.body.code, "FORBIDDEN");

    const pending = await call(store.app, "POST", "/v1/orders", { token: alice.token, body: { items: [{ productId: cup.id, quantity: 1 }], shippingAddress: address }, ip: alice.ip });
    const notPaid = await call(store.app, "POST", `/v1/orders/${pending.body.data.order.id}/refund`, { token: admin.token, body, ip: ip(1) });
    assert.equal(notPaid.status, 409);
    assert.equal(notPaid.body.code, "ORDER_NOT_REFUNDABLE");

    const refunded = await call(store.app, "POST", path, { token: admin.token, body, ip: ip(1) });
    assert.equal(refunded.status, 200);
    assert.equal(refunded.body.data.order.status, "refunded");
    assert.equal((await call(store.app, "POST", path, { token: admin.token, body, ip: ip(1) })).body.code, "ORDER_NOT_REFUNDABLE");

    const audit = await call(store.app, "GET", `/v1/admin/audit?action=order.refunded&target=order:${order.id}`, { token: admin.token, ip: ip(1) });
    assert.equal(audit.status, 200);
    assert.equal(audit.body.data.entries.length, 1);
    const [entry] = audit.body.data.entries;
    assert.deepEqual(entry.actor, { type: "admin", id: admin.id });
    assert.deepEqual(entry.data, { amountCents: order.totalCents, reason: body.reason });
    assert.equal(entry.traceId, refunded.body.traceId);
    const verified = await call(store.app, "GET", "/v1/admin/audit/verify", { token: admin.token, ip: ip(1) });
    assert.equal(verified.body.data.ok, true);
    assert.ok(verified.body.data.head.seq >= entry.seq);
  });

  test("erasing a customer shreds her key: the order stays for the books, its address is unreadable", async () => {
    const { crypto } = store.app.rampart.runtime;
    const enc = (await storeDb(store.app.rampart.runtime.db).selectFrom("orders").select("shipping_address_enc").where("id", "=", order.id).executeTakeFirstOrThrow()).shipping_address_enc;
    assert.deepEqual(JSON.parse(await crypto.decryptStringFor(alice.id, enc, addressContext(order.id))), address);

    const erased = await call(store.app, "DELETE", "/v1/me", { token: alice.token, body: { password: alice.password }, ip: alice.ip });
    assert.equal(erased.status, 200);
    assert.equal(erased.body.data.receipt.keyShredded, true);

    const row = await storeDb(store.app.rampart.runtime.db).selectFrom("orders").selectAll().where("id", "=", order.id).executeTakeFirstOrThrow();
    assert.equal(row.status, "refunded");
    assert.equal(row.total_cents, order.totalCents);
    assert.equal(row.shipping_address_enc, enc);
    await assert.rejects(crypto.decryptStringFor(alice.id, enc, addressContext(order.id)), DecryptionFailed);
  });
});
