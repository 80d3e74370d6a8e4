/**
 * The catalogue: the store's migrations ran with Rampart's, anyone browses,
 * only `products:write` (the `editor` role, given by an admin) adds products,
 * and bodies are validated strictly.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pendingAppMigrations } from "rampart";
import { migrations } from "../src/schema.js";
import { ADMIN, call, logIn, signUp, startStore, type Customer, type Store } from "./support.js";

// Client addresses of this file, apart from the other file's: with Redis, rate-limit buckets outlive a file.
const ip = (n: number) => `10.1.0.${n}`;

describe("catalogue", () => {
  let store: Store;
  let admin: { id: string; token: string };
  let dana: Customer;

  before(async () => {
    store = await startStore();
    admin = await logIn(store.app, ADMIN.email, ADMIN.password, ip(1));
    dana = await signUp(store.app, "dana", ip(2));
  });
  after(() => store.close());

  test("the store's own migrations were applied with Rampart's when the runtime was created, into its database", async () => {
    assert.deepEqual(await pendingAppMigrations(store.app.rampart.runtime.db.kysely, migrations), []);
    const res = await call(store.app, "GET", "/v1/products", { ip: ip(3) });
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.body.data.products));
  });

  test("a customer cannot add products; once an admin makes her an editor, she can", async () => {
    const product = { name: "Espresso cup", priceCents: 1200 };
    const anonymous = await call(store.app, "POST", "/v1/products", { body: product, ip: ip(3) });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, "UNAUTHENTICATED");

    const refused = await call(store.app, "POST", "/v1/products", { token: dana.token, body: product, ip: dana.ip });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.success, false);
    assert.equal(refused.body.code, "FORBIDDEN");

    const promoted = await call(store.app, "PUT", `/v1/admin/users/${dana.id}/roles`, { token: admin.token, body: { roles: ["user", "editor"] }, ip: ip(1) });
    assert.equal(promoted.status, 200);
    assert.deepEqual([...promoted.body.data.user.roles].sort(), ["editor", "user"]);
    // A role change ends the user's sessions: the next login carries the new role.
    assert.equal((await call(store.app, "POST", "/v1/products", { token: dana.token, body: product, ip: dana.ip })).status, 401);
    const editor = await logIn(store.app, dana.email, dana.password, dana.ip);

    const created = await call(store.app, "POST", "/v1/products", { token: editor.token, body: product, ip: dana.ip });
    assert.equal(created.status, 201);
    assert.equal(created.body.data.product.name, product.name);
    assert.equal(created.body.data.product.priceCents, product.priceCents);
    const listed = await call(store.app, "GET", "/v1/products", { ip: ip(3) });
    assert.ok(listed.body.data.products.some((p: { id: string }) => p.id === created.body.data.product.id));
  });

  test("product bodies are strict: unknown fields and strings for numbers are refused, not dropped or coerced", async () => {
    const editor = await logIn(store.app, dana.email, dana.password, dana.ip);
    const extra = await call(store.app, "POST", "/v1/products", { token: editor.token, body: { name: "Mug", priceCents: 900, featured: true }, ip: dana.ip });
    assert.equal(extra.status, 400);
    assert.equal(extra.body.code, "VALIDATION_FAILED");
    assert.deepEqual(extra.body.details.fields.map((f: { path: string }) => f.path), ["body.featured"]);
    const coerced = await call(store.app, "POST", "/v1/products", { token: editor.token, body: { name: "Mug", priceCents: "900" }, ip: dana.ip });
    assert.equal(coerced.status, 400);
    assert.deepEqual(coerced.body.details.fields.map((f: { path: string }) => f.path), ["body.priceCents"]);
  });
});
