/** Public API of the audit log. */
export { AuditLog, GENESIS_HASH, type AuditInput, type AuditQuery, type VerifyResult } from "./audit-log.js";
export { canonicalJson, entryHash, type ChainEntry } from "./chain.js";
export { auditRoutes } from "./routes.js";
