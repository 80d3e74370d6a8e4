/**
 * Threat: TOTP code replay across server instances (RFC 6238 §5.2): the same
 * code sent to two instances behind a load balancer, or a racing request on
 * each, must still verify once. Redis store shared by two connections.
 */
import { randomBytes } from "node:crypto";
import pino from "pino";
import { Redis } from "ioredis";
import { RedisKv, type KvStore } from "../../../src/kv/index.js";
import { serviceUrl } from "../../helpers/services.js";
import { replaySuite } from "./replay-suite.js";

const url = serviceUrl("TEST_REDIS_URL");

replaySuite("redis", async () => {
  const prefix = `rt:${randomBytes(6).toString("hex")}:`;
  const log = pino({ level: "silent" });
  const kv = new RedisKv({ url, prefix, log });
  await ready(kv);
  const peers: KvStore[] = [];
  return {
    kv,
    peer: async () => {
      const p = new RedisKv({ url, prefix, log });
      await ready(p);
      peers.push(p);
      return p;
    },
    done: async () => {
      await kv.close();
      for (const p of peers) await p.close();
      const admin = new Redis(url);
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      admin.disconnect();
    },
  };
});

/** The client connects asynchronously and refuses commands until then. */
async function ready(store: RedisKv): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await store.ping();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await store.ping();
}
