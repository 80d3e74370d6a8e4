/**
 * Redis unreachable is an outage the routes answer 503 with Retry-After, not
 * a 500: every RedisKv command fails with KvUnavailableError while the
 * connection is cut (a proxy the test controls in front of the real Redis),
 * and succeeds again once it is back, with nothing done by the caller. A
 * command Redis answers with an error of the caller's (a wrong key type)
 * stays what it is.
 */
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { KvUnavailableError, KV_RETRY_AFTER_SECONDS, RedisKv } from "../../src/kv/index.js";
import { pollUntil } from "../helpers/async.js";
import { ControlledProxy } from "../helpers/proxy.js";
import { connected, dropPrefix, freshPrefix } from "../helpers/redis.js";
import { serviceUrl } from "../helpers/services.js";

const url = serviceUrl("TEST_REDIS_URL");

describe("RedisKv while Redis is unreachable", () => {
  const prefix = freshPrefix();
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await dropPrefix(url, prefix);
  });

  it("fails every command with KvUnavailableError (503, Retry-After) and recovers by itself", async () => {
    const target = new URL(url);
    const proxy = await ControlledProxy.create({ host: target.hostname, port: Number(target.port || 6379) });
    cleanups.push(() => proxy.down());
    await proxy.up();
    const kv = await connected(new RedisKv({ url: `redis://127.0.0.1:${proxy.port}`, prefix, log: pino({ level: "silent" }) }));
    cleanups.push(() => kv.close());
    await kv.set("k", "v");

    await proxy.down();
    const calls: [string, () => Promise<unknown>][] = [
      ["get", () => kv.get("k")],
      ["set", () => kv.set("k", "w", { ttlMs: 1_000 })],
      ["del", () => kv.del("k")],
      ["increment", () => kv.increment("n", 1, 1_000)],
      ["consume", () => kv.consume("k")],
      ["ttl", () => kv.ttl("k")],
      ["publish", () => kv.publish("c", "m")],
      ["ping", () => kv.ping()],
    ];
    for (const [name, fn] of calls) {
      const err = await fn().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(KvUnavailableError);
      expect((err as KvUnavailableError).code).toBe("SERVICE_UNAVAILABLE");
      expect((err as KvUnavailableError).headers).toEqual({ "retry-after": String(KV_RETRY_AFTER_SECONDS) });
      expect((err as KvUnavailableError).ownMessage, "the client gets the catalogue's message").toBe(false);
    }

    await proxy.up();
    const back = await pollUntil(() => kv.get("k").catch((e: unknown) => e), (v) => v === "v");
    expect(back).toBe("v");
  });

  it("leaves an error of the caller's as it is", async () => {
    const kv = await connected(new RedisKv({ url, prefix, log: pino({ level: "silent" }) }));
    cleanups.push(() => kv.close());
    await kv.set("text", "not a number");
    const err = await kv.increment("text", 1, 1_000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(KvUnavailableError);
    await expect(kv.set("k", "v", { ttlMs: 0 })).rejects.toThrow(RangeError);
  });
});
