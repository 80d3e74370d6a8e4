/**
 * Public API of idempotency keys (`Idempotency-Key` on POST routes that
 * create things): the kv-backed store and the request fingerprint. The
 * Fastify plugin with route opt-in (`config: { idempotent: true }`) is
 * `rampart/idempotency/plugin`.
 */
export { IdempotencyStore, type IdempotencyStoreOptions, type StoredResponse, type BeginResult } from "./store.js";
export { requestFingerprint, canonicalJson, isValidIdempotencyKey } from "./fingerprint.js";
