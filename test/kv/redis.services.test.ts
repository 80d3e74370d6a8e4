import { randomBytes } from "node:crypto";
import pino from "pino";
import { Redis } from "ioredis";
import { RedisKv } from "../../src/kv/index.js";
import { kvConformance } from "./conformance.js";
import { serviceUrl } from "../helpers/services.js";

const url = serviceUrl("TEST_REDIS_URL");

kvConformance("redis", async () => {
  const prefix = `rt:${randomBytes(6).toString("hex")}:`;
  const log = pino({ level: "silent" });
  const store = new RedisKv({ url, prefix, log });
  await waitForRedis(store);
  const peers: RedisKv[] = [];
  return {
    store,
    advance: (ms) => new Promise((r) => setTimeout(r, ms)),
    peer: async () => {
      const p = new RedisKv({ url, prefix, log });
      await waitForRedis(p);
      peers.push(p);
      return p;
    },
    done: async () => {
      await store.close();
      for (const p of peers) await p.close();
      const admin = new Redis(url);
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      admin.disconnect();
    },
  };
});

async function waitForRedis(store: RedisKv): Promise<void> {
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
