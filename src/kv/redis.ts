/**
 * Redis implementation of KvStore for scale-out mode. Each operation is one
 * round trip and atomic on the server: SET NX PX, GETDEL, and a Lua script for
 * increment-with-TTL (INCRBY and PEXPIRE must not be split, or a crash between
 * them leaves a counter that never expires).
 *
 * Commands fail fast while Redis is unreachable (no offline queue), with
 * KvUnavailableError (unavailable.ts: a 503 with Retry-After unless the
 * caller fails open); the client keeps reconnecting in the background and the
 * store recovers by itself.
 */
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { KvStore, SetOptions, Unsubscribe } from "./types.js";
import { rethrowKvError } from "./unavailable.js";

const INCREMENT_WITH_TTL = `
local created = redis.call('EXISTS', KEYS[1]) == 0
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if created then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

export interface RedisKvOptions {
  url: string;
  prefix: string;
  log: Logger;
  /** Per-command timeout (ms). */
  commandTimeoutMs?: number;
}

export class RedisKv implements KvStore {
  readonly kind = "redis" as const;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private lastErrorLog = 0;

  constructor(options: RedisKvOptions) {
    this.prefix = options.prefix;
    const base: RedisOptions = {
      connectTimeout: 2_000,
      commandTimeout: options.commandTimeoutMs ?? 2_000,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
      lazyConnect: false,
    };
    this.client = new Redis(options.url, { ...base, keyPrefix: options.prefix });
    this.client.defineCommand("rpIncrementWithTtl", { numberOfKeys: 1, lua: INCREMENT_WITH_TTL });
    this.subscriber = new Redis(options.url, { ...base, autoResubscribe: false });
    this.subscriber.on("message", (channel: string, message: string) => {
      const set = this.handlers.get(channel);
      if (set) for (const h of [...set]) h(message);
    });
    // (Re)subscribe every channel whenever the subscriber connection becomes ready,
    // so subscriptions made while Redis was down take effect once it is back.
    this.subscriber.on("ready", () => {
      const channels = [...this.handlers.keys()];
      if (channels.length > 0) this.subscriber.subscribe(...channels).catch(() => undefined);
    });
    const onError = (err: Error) => {
      // ioredis emits an error per failed reconnect; log at most every 10 s.
      const now = Date.now();
      if (now - this.lastErrorLog > 10_000) {
        this.lastErrorLog = now;
        options.log.warn({ err: { message: err.message } }, "redis connection error");
      }
    };
    this.client.on("error", onError);
    this.subscriber.on("error", onError);
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(key).catch(rethrowKvError);
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    if (options.ttlMs !== undefined && !(options.ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, instead got ${options.ttlMs}`);
    const ttl = options.ttlMs === undefined ? [] : (["PX", Math.ceil(options.ttlMs)] as const);
    const res = await (options.ifAbsent ? this.client.set(key, value, ...(ttl as ["PX", number]), "NX") : this.client.set(key, value, ...(ttl as ["PX", number]))).catch(rethrowKvError);
    return res === "OK";
  }

  async del(key: string): Promise<boolean> {
    return (await this.client.del(key).catch(rethrowKvError)) > 0;
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    if (!Number.isSafeInteger(by)) throw new RangeError(`by must be an integer, instead got ${by}`);
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, instead got ${ttlMs}`);
    const client = this.client as Redis & { rpIncrementWithTtl(key: string, by: number, ttl: number): Promise<number> };
    return Number(await client.rpIncrementWithTtl(key, by, Math.ceil(ttlMs)).catch(rethrowKvError));
  }

  async consume(key: string): Promise<string | null> {
    return this.client.getdel(key).catch(rethrowKvError);
  }

  async ttl(key: string): Promise<number | null> {
    const t = await this.client.pttl(key).catch(rethrowKvError);
    if (t === -2) return null;
    return t;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(this.prefix + channel, message).catch(rethrowKvError);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe> {
    const full = this.prefix + channel;
    let set = this.handlers.get(full);
    const first = set === undefined;
    if (!set) this.handlers.set(full, (set = new Set()));
    set.add(handler);
    if (first && this.subscriber.status === "ready") await this.subscriber.subscribe(full);
    return async () => {
      set.delete(handler);
      if (set.size === 0) {
        this.handlers.delete(full);
        if (this.subscriber.status === "ready") await this.subscriber.unsubscribe(full);
      }
    };
  }

  async ping(): Promise<void> {
    await this.client.ping().catch(rethrowKvError);
  }

  /** The raw client, for store layers that need scripts of their own (rate limits). */
  get redis(): Redis {
    return this.client;
  }

  async close(): Promise<void> {
    this.handlers.clear();
    this.client.disconnect();
    this.subscriber.disconnect();
  }
}
