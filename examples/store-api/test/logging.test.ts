/**
 * One log stream: Fastify's logger (`app.log`, `request.log`) is the
 * runtime's, because the instance is built with `rampartServerOptions(runtime)`.
 * The store's own lines mask every secret the runtime loaded (here the Stripe
 * signing secret), and Rampart's access line of each request is in the same
 * stream under the answer's trace id.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { call, captureLogs, startStore, STRIPE_SECRET, type Store } from "./support.js";

// Client addresses of this file, apart from the other files': with Redis, rate-limit buckets outlive a file.
const ip = (n: number) => `10.3.0.${n}`;

describe("logging", () => {
  let store: Store;
  const logs = captureLogs();

  before(async () => {
    // Info level: the access lines this file looks for are info lines (the runner's default is warn).
    store = await startStore({ env: { LOG_LEVEL: "info" }, logDestination: logs.destination });
  });
  after(() => store.close());

  test("a loaded secret is masked in the app's own lines, wherever it is quoted", () => {
    // What a careless handler might do: log a message and a field that quote the signing secret.
    store.app.log.warn({ detail: `verifying with ${STRIPE_SECRET}` }, `stripe secret is ${STRIPE_SECRET}`);
    const [line, ...more] = logs.lines.filter((l) => typeof l.msg === "string" && l.msg.startsWith("stripe secret is"));
    assert.equal(more.length, 0);
    assert.equal(line?.msg, "stripe secret is [REDACTED]");
    assert.equal(line?.detail, "verifying with [REDACTED]");
    assert.equal(logs.text().includes(STRIPE_SECRET), false);
  });

  test("each request has one access line, under the trace id of its answer", async () => {
    const res = await call(store.app, "GET", "/v1/products", { ip: ip(1) });
    assert.equal(res.status, 200);
    const access = logs.lines.filter((l) => l.msg === "request" && l.traceId === res.body.traceId);
    assert.deepEqual(
      access.map((l) => [l.level, l.method, l.route, l.path, l.status]),
      [["info", "GET", "/v1/products", "/v1/products", 200]],
    );
  });
});
