/** Public API of the key-value store: the contract and its two implementations. */
import type { Logger } from "pino";
import type { Clock } from "../runtime/clock.js";
import { MemoryKv } from "./memory.js";
import { RedisKv } from "./redis.js";
import type { KvStore } from "./types.js";

export type { KvStore, SetOptions, Unsubscribe } from "./types.js";
export { MemoryKv, type MemoryKvOptions } from "./memory.js";
export { RedisKv, type RedisKvOptions } from "./redis.js";
export { KvUnavailableError, isKvOutage, KV_RETRY_AFTER_SECONDS } from "./unavailable.js";

export function createKv(options: { redisUrl: string | undefined; redisPrefix: string; clock: Clock; log: Logger }): KvStore {
  if (options.redisUrl === undefined) return new MemoryKv({ clock: options.clock });
  return new RedisKv({ url: options.redisUrl, prefix: options.redisPrefix, log: options.log });
}
