/**
 * Continuous verification of the audit hash chain. The first run walks the
 * whole chain; later runs check the tail since the head the last passing run
 * reached (incremental), first making sure that head is still in the chain
 * with the same hash, so a rewritten history or a cut below it is caught
 * too. Editing one old entry's content without re-chaining leaves the later
 * links intact, so a full walk is repeated on a schedule as well (the job
 * decides when: verify-job.ts). The outcome is kept as stats for metrics
 * (`rampart_audit_chain_verified`, ...), per instance.
 */
import type { Clock } from "../runtime/clock.js";

/** A head of the chain: its sequence number and hash. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export type VerifyResult =
  | { ok: true; entries: number; head: ChainHead }
  | { ok: false; entries: number; firstBadSeq: number; reason: string };

export interface VerifyOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** A head seen earlier (e.g. in the log) that must still be in the chain: catches a truncated tail. */
  expectHead?: ChainHead;
  /** A head verified earlier: only the entries after it are walked, once it is found unchanged. */
  from?: ChainHead;
}

/** What the verifier needs of the audit log. */
export interface VerifiableChain {
  verify(options: VerifyOptions): Promise<VerifyResult>;
}

export interface AuditVerifierStats {
  /** Verifications that finished, passing or not. */
  runs: number;
  /** Verifications that found the chain broken. */
  failures: number;
  /** Whether the last finished verification passed; null before the first. */
  lastOk: boolean | null;
  /** Epoch ms of the last verification that passed; null before one did. */
  lastVerifiedAt: number | null;
  /** The head the last passing verification reached; incremental runs start after it. */
  verifiedHead: ChainHead | null;
  /** Epoch ms of the last full walk that passed. */
  lastFullAt: number | null;
}

export interface VerifyRun {
  mode: "full" | "incremental";
  result: VerifyResult;
}

export class AuditVerifier {
  /** The last run queued: runs go one after another, so each starts from the head the previous one reached. */
  private last: Promise<unknown> = Promise.resolve();
  private readonly s: AuditVerifierStats = { runs: 0, failures: 0, lastOk: null, lastVerifiedAt: null, verifiedHead: null, lastFullAt: null };

  constructor(
    private readonly chain: VerifiableChain,
    private readonly clock: Clock,
  ) {}

  /**
   * Verifies the tail since the last verified head, or the whole chain when
   * `full` is set or nothing was verified yet. A run asked for while
   * another is in progress starts after it. A failure to read the chain
   * (database down) rejects and counts as neither a pass nor a failure.
   */
  run(options: { full?: boolean; batchSize?: number } = {}): Promise<VerifyRun> {
    const next = this.last.then(() => this.verify(options));
    this.last = next.catch(() => undefined);
    return next;
  }

  private async verify(options: { full?: boolean; batchSize?: number }): Promise<VerifyRun> {
    const from = options.full ? null : this.s.verifiedHead;
    const mode = from ? "incremental" : "full";
    const result = await this.chain.verify({ ...(from ? { from } : {}), ...(options.batchSize ? { batchSize: options.batchSize } : {}) });
    const now = this.clock.now();
    this.s.runs++;
    this.s.lastOk = result.ok;
    if (result.ok) {
      this.s.lastVerifiedAt = now;
      this.s.verifiedHead = result.head;
      if (mode === "full") this.s.lastFullAt = now;
    } else {
      // The verified head stays: the next incremental run checks from it again and fails again.
      this.s.failures++;
    }
    return { mode, result };
  }

  stats(): AuditVerifierStats {
    return { ...this.s, verifiedHead: this.s.verifiedHead ? { ...this.s.verifiedHead } : null };
  }
}
