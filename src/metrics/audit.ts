/**
 * Metrics of the audit hash chain, for the alerts on a head that stops
 * advancing while audited events are emitted and on a chain that fails
 * verification:
 *
 * - `rampart_audit_events_total`: security events emitted that the
 *   catalogue marks audited (each should append one entry);
 * - `rampart_audit_chain_head_seq`: the head's sequence number, read from
 *   the database at scrape time (one primary-key read, bounded by a timeout;
 *   no sample when it cannot be read, never a made-up value);
 * - the verifier's outcome on this instance (src/audit/verifier.ts):
 *   `rampart_audit_verify_runs_total`, `rampart_audit_verify_failures_total`,
 *   and, once a verification finished, `rampart_audit_chain_verified` (1 or
 *   0), `rampart_audit_chain_verified_seq` and
 *   `rampart_audit_chain_last_verified_timestamp_seconds`.
 *
 * Across the workers of one instance (cluster.ts) the gauges merge as the
 * alerts read them: the head and the last verification by `max`, the
 * verdict by `min` (one worker that found the chain broken makes it 0).
 */
import { Counter, type Registry } from "prom-client";
import type { AuditVerifierStats } from "../audit/verifier.js";
import { registerSnapshot, type Sample } from "./snapshot-metric.js";

/** What the exporter reads of the audit log (`runtime.audit`). */
export interface AuditMetricSource {
  head(): Promise<{ seq: number }>;
  readonly verifier: { stats(): AuditVerifierStats };
}

/** Longest a scrape waits for the head; a slower database leaves the sample out of that scrape. */
const HEAD_READ_TIMEOUT_MS = 1000;

export interface AuditMetrics {
  /** Counts one emitted event when the catalogue marks it audited. */
  event(name: string): void;
}

/**
 * Registers the audit metrics. `audited` tells whether an event name is
 * appended to the chain (the runtime's event catalogue).
 */
export function registerAuditMetrics(registry: Registry, audit: AuditMetricSource, audited: (name: string) => boolean): AuditMetrics {
  const events = new Counter({
    name: "rampart_audit_events_total",
    help: "Security events emitted that the catalogue marks audited; each appends one entry to the audit chain.",
    registers: [registry],
  });
  events.inc(0);

  let reading: Promise<Sample[]> | undefined;
  const readHead = (): Promise<Sample[]> => {
    // One read at a time: scrapes that overlap a slow read share it.
    reading ??= audit
      .head()
      .then((h): Sample[] => [{ value: h.seq }], (): Sample[] => [])
      .finally(() => (reading = undefined));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Sample[]>((resolve) => {
      timer = setTimeout(() => resolve([]), HEAD_READ_TIMEOUT_MS);
      timer.unref();
    });
    return Promise.race([reading, timeout]).finally(() => clearTimeout(timer));
  };
  registerSnapshot(registry, "rampart_audit_chain_head_seq", "Sequence number of the audit chain head, read from the database at scrape time.", "gauge", readHead, "max");

  const stats = () => audit.verifier.stats();
  registerSnapshot(registry, "rampart_audit_verify_runs_total", "Audit chain verifications this instance finished (scheduled, or asked for through the admin API).", "counter", () => [{ value: stats().runs }]);
  registerSnapshot(registry, "rampart_audit_verify_failures_total", "Audit chain verifications that found the chain broken (an entry altered, removed or reordered, or the tail cut).", "counter", () => [{ value: stats().failures }]);
  registerSnapshot(registry, "rampart_audit_chain_verified", "1 when the last audit chain verification on this instance passed, 0 when it found the chain broken; absent before the first.", "gauge", () => {
    const { lastOk } = stats();
    return lastOk === null ? [] : [{ value: lastOk ? 1 : 0 }];
  }, "min");
  registerSnapshot(registry, "rampart_audit_chain_verified_seq", "Sequence number up to which the last passing verification on this instance checked the chain.", "gauge", () => {
    const { verifiedHead } = stats();
    return verifiedHead === null ? [] : [{ value: verifiedHead.seq }];
  }, "max");
  registerSnapshot(registry, "rampart_audit_chain_last_verified_timestamp_seconds", "Unix time of the last audit chain verification on this instance that passed.", "gauge", () => {
    const { lastVerifiedAt } = stats();
    return lastVerifiedAt === null ? [] : [{ value: lastVerifiedAt / 1000 }];
  }, "max");

  return {
    event(name) {
      if (audited(name)) events.inc();
    },
  };
}
