/** Public API of session revocation: the revocation list shared through the kv store. */
export { RevocationList, REVOCATIONS_CHANNEL, DEFAULT_STALE_MAX_MS, REVOCATION_RETRY_AFTER_SECONDS, type RevocationCheck, type RevocationConsistency, type RevocationListOptions } from "./revocation-list.js";
export { type RevocationHealth, type RevocationState } from "./freshness.js";
export { revocationRetentionMs } from "./retention.js";
