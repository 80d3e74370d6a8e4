/** Public API of the audit log (framework-free; its routes belong to the server). */
export { AuditLog, GENESIS_HASH, type AuditInput, type AuditQuery } from "./audit-log.js";
export { canonicalJson, entryHash, type ChainEntry } from "./chain.js";
export { AuditVerifier, type AuditVerifierStats, type ChainHead, type VerifiableChain, type VerifyOptions, type VerifyResult, type VerifyRun } from "./verifier.js";
export { auditVerifyJobs, type AuditVerifyJob } from "./verify-job.js";
