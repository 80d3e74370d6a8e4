/**
 * Retention: what Rampart keeps only for a while, and the jobs that purge it.
 * Idempotency records and used TOTP steps live in the kv store with TTLs and
 * need no purge; the audit log is never purged (it is the evidence), but its
 * head is written to the log on a schedule so a truncated tail is detectable.
 */
import { sql } from "kysely";
import { auditVerifyJobs } from "../audit/verify-job.js";
import { removeQueuedBlobs } from "../files/deletions.js";
import { blobStoreFor } from "../files/files.js";
import type { Runtime } from "../runtime/index.js";
import type { Job } from "./scheduler.js";

const DAY = 86_400_000;

/** Removes expired and spent records; each count is what one kind lost. */
export async function purgeExpired(runtime: Runtime): Promise<Record<string, number>> {
  const { db, clock, config, crypto } = runtime;
  const k = db.kysely;
  const now = clock.now();
  const sessionsBefore = new Date(now - config.retentionSessionsDays * DAY);
  const n = (r: { numDeletedRows: bigint }) => Number(r.numDeletedRows);

  const refreshTokens = n(await k.deleteFrom("rampart_refresh_tokens").where("expires_at", "<", new Date(now)).executeTakeFirstOrThrow());
  // Ended sessions (expired, or revoked long enough ago) go with their refresh tokens.
  const sessions = n(
    await k
      .deleteFrom("rampart_sessions")
      .where((eb) => eb.or([eb("expires_at", "<", sessionsBefore), eb("revoked_at", "<", sessionsBefore)]))
      .executeTakeFirstOrThrow(),
  );
  const passwordResets = n(await k.deleteFrom("rampart_password_resets").where((eb) => eb.or([eb("expires_at", "<", new Date(now)), eb("used_at", "is not", null)])).executeTakeFirstOrThrow());
  const emailVerifications = n(await k.deleteFrom("rampart_email_verifications").where((eb) => eb.or([eb("expires_at", "<", new Date(now)), eb("used_at", "is not", null)])).executeTakeFirstOrThrow());
  const mail = n(await k.deleteFrom("rampart_outbox").where("sent_at", "<", new Date(now - config.retentionOutboxDays * DAY)).executeTakeFirstOrThrow());
  const webhookEvents = n(
    await k
      .deleteFrom("rampart_webhook_events")
      .where("state", "in", ["processed", "dead"])
      .where("received_at", "<", new Date(now - config.retentionWebhookEventsDays * DAY))
      .executeTakeFirstOrThrow(),
  );
  // Safety net of crypto-shredding: an erasure that committed but crashed before
  // shredding left the key; shred it now.
  const leftover = await sql<{ subject: string }>`select k.subject from rampart_subject_keys k join rampart_users u on u.id = k.subject where u.status = 'erased'`.execute(k);
  let keysShredded = 0;
  for (const r of leftover.rows) if (await crypto.shred(r.subject)) keysShredded++;
  // Upload blobs whose removal failed after the commit that deleted their rows (an erasure, a
  // deletion): retried here while the server runs, not only by the files service at the next start.
  const blobs = await removeQueuedBlobs({ db: k, store: blobStoreFor(config), log: runtime.log });
  return { refreshTokens, sessions, passwordResets, emailVerifications, mail, webhookEvents, keysShredded, blobsRemoved: blobs.removed };
}

/** The jobs `rampart serve` runs. */
export function retentionJobs(runtime: Runtime): Job[] {
  return [
    {
      name: "retention",
      intervalMs: runtime.config.retentionIntervalMinutes * 60_000,
      run: async () => {
        const result = await purgeExpired(runtime);
        await runtime.events.emit("retention.purged", { actor: { type: "system" }, data: result });
        return result;
      },
    },
    {
      name: "audit-head",
      intervalMs: runtime.config.auditHeadLogIntervalSeconds * 1000,
      // The head in the log is evidence outside the database: verify with
      // `rampart audit verify --expect-head SEQ:HASH` to detect a cut tail.
      run: async () => {
        const head = await runtime.audit.head();
        runtime.log.info({ auditHead: `${head.seq}:${head.hash}` }, "audit chain head");
        return { seq: head.seq, hash: head.hash };
      },
    },
    // Continuous verification of the chain (AUDIT_VERIFY_INTERVAL_SECONDS; none when 0).
    ...auditVerifyJobs(runtime),
  ];
}
