/** Public API of the audit log (framework-free; its routes belong to the server). */
export { AuditLog, GENESIS_HASH, type AuditInput, type AuditQuery, type VerifyResult } from "./audit-log.js";
export { canonicalJson, entryHash, type ChainEntry } from "./chain.js";
