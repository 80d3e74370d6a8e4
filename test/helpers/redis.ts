/**
 * Redis for `*.services.test.ts`: a fresh key prefix per store, the wait for
 * a RedisKv's first connection (it refuses commands until then: no offline
 * queue), and the removal of a prefix's keys afterwards.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import pino from "pino";
import { RedisKv } from "../../src/kv/index.js";

export function freshPrefix(): string {
  return `rt:${randomBytes(6).toString("hex")}:`;
}

/** Deletes every key under `prefix` (SCAN, so a large keyspace is not blocked). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== "0");
  } finally {
    admin.disconnect();
  }
}

/** Resolves once `kv` answers a ping (up to ~2.5 s), else fails with its error. */
export async function connected<T extends RedisKv>(kv: T): Promise<T> {
  for (let i = 0; i < 50; i++) {
    try {
      await kv.ping();
      return kv;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await kv.ping();
  return kv;
}

export interface RedisKvHarness {
  kv: RedisKv;
  prefix: string;
  /** Another connection on the same prefix (another instance). */
  peer(): Promise<RedisKv>;
  /** Closes every connection and deletes the prefix's keys. */
  done(): Promise<void>;
}

/** A connected RedisKv on a fresh prefix, with peers on the same prefix. */
export async function redisKvHarness(url: string): Promise<RedisKvHarness> {
  const prefix = freshPrefix();
  const log = pino({ level: "silent" });
  const open = () => connected(new RedisKv({ url, prefix, log }));
  const kv = await open();
  const peers: RedisKv[] = [];
  return {
    kv,
    prefix,
    peer: async () => {
      const p = await open();
      peers.push(p);
      return p;
    },
    done: async () => {
      for (const s of [kv, ...peers]) await s.close();
      await dropPrefix(url, prefix);
    },
  };
}
