/**
 * The scheduled job that keeps the audit chain verified while the server
 * runs: every AUDIT_VERIFY_INTERVAL_SECONDS the tail since the last verified
 * head, and the whole chain at the first run and every
 * AUDIT_VERIFY_FULL_INTERVAL_HOURS. A broken chain is logged as an error
 * naming the first bad entry and shows in the metrics
 * (`rampart_audit_chain_verified` 0, `rampart_audit_verify_failures_total`),
 * which the RampartAuditChainVerificationFailed alert watches.
 */
import type { Config } from "../config/index.js";
import type { Logger } from "../log/index.js";
import type { Clock } from "../runtime/clock.js";
import type { AuditVerifier } from "./verifier.js";

/** A job in the shape the scheduler (src/jobs) runs. */
export interface AuditVerifyJob {
  name: string;
  intervalMs: number;
  run(): Promise<Record<string, number | string>>;
}

export interface AuditVerifyJobDeps {
  audit: { readonly verifier: Pick<AuditVerifier, "run" | "stats"> };
  config: Pick<Config, "auditVerifyIntervalSeconds" | "auditVerifyFullIntervalHours">;
  clock: Clock;
  log: Logger;
}

/** The verification job, or none when AUDIT_VERIFY_INTERVAL_SECONDS is 0. */
export function auditVerifyJobs(deps: AuditVerifyJobDeps): AuditVerifyJob[] {
  const { audit, config, clock, log } = deps;
  if (config.auditVerifyIntervalSeconds === 0) return [];
  const fullEveryMs = config.auditVerifyFullIntervalHours * 3_600_000;
  return [
    {
      name: "audit-verify",
      intervalMs: config.auditVerifyIntervalSeconds * 1000,
      run: async (): Promise<Record<string, number | string>> => {
        const { lastFullAt } = audit.verifier.stats();
        const full = lastFullAt === null || clock.now() - lastFullAt >= fullEveryMs;
        const { mode, result } = await audit.verifier.run({ full });
        if (!result.ok) {
          log.error({ mode, firstBadSeq: result.firstBadSeq, reason: result.reason }, "audit chain verification failed");
          return { mode, ok: 0, firstBadSeq: result.firstBadSeq, reason: result.reason };
        }
        return { mode, ok: 1, entries: result.entries, headSeq: result.head.seq };
      },
    },
  ];
}
