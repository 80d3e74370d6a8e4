/**
 * Public API of idempotency keys (`Idempotency-Key` on POST routes that
 * create things): the kv-backed store, the request fingerprint and the
 * Fastify plugin with route opt-in (`config: { idempotent: true }`).
 */
export { IdempotencyStore, type IdempotencyStoreOptions, type StoredResponse, type BeginResult } from "./store.js";
export { requestFingerprint, canonicalJson, isValidIdempotencyKey } from "./fingerprint.js";
export { idempotencyPlugin, IDEMPOTENCY_HEADER, REPLAYED_HEADER, type IdempotencyPluginOptions } from "./plugin.js";
