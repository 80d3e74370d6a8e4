/** Public API of session revocation: the revocation list shared through the kv store. */
export { RevocationList, REVOCATIONS_CHANNEL, type RevocationCheck, type RevocationConsistency, type RevocationListOptions } from "./revocation-list.js";
export { revocationRetentionMs } from "./retention.js";
