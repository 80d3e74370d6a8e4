/**
 * Row types of every table, for typed Kysely queries. Each capability's
 * migration adds its tables here.
 */
import type { ColumnType, Generated } from "kysely";

export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** A named lease: at most one holder at a time until `expires_at` (see db/leases.ts). */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: Date;
  acquired_at: Timestamp;
  generation: Generated<number>;
}

/** A KEK version known to the keyring; for `local` it holds the KEK wrapped by the master key (src/crypto/kek/local.ts). */
export interface KekVersionsTable {
  provider: string;
  key_id: string;
  version: number;
  state: ColumnType<"active" | "retired", "active" | "retired" | undefined, "active" | "retired">;
  wrapped_key: Uint8Array | null;
  master_key_check: string | null;
  created_at: Timestamp;
  retired_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** One data key per subject, wrapped by a KEK version; deleting the row crypto-shreds the subject (src/crypto/subject-keys.ts). */
export interface SubjectKeysTable {
  subject: string;
  key_id: Uint8Array;
  kek_provider: string;
  kek_key_id: string;
  kek_version: number;
  wrapped_dek: Uint8Array;
  created_at: Timestamp;
  rewrapped_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** Progress of an interrupted rewrap of one ciphertext column (src/crypto/rewrap.ts). */
export interface RewrapCursorsTable {
  name: string;
  target: string;
  last_id: string;
  updated_at: Timestamp;
}

/** An access-token signing key and its life cycle (src/auth/tokens/key-store.ts); the private key is sealed. */
export interface SigningKeysTable {
  kid: string;
  alg: "EdDSA";
  state: "pending" | "active" | "retired";
  public_jwk: string;
  private_key_sealed: string;
  created_at: Timestamp;
  activates_at: Timestamp;
  activated_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  retired_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  publish_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

type NullableTime = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** An account; email and name are `rp1:` ciphertexts under the user's key, looked up by blind index. */
export interface UsersTable {
  id: string;
  email_enc: string | null;
  email_bidx: string | null;
  name_enc: string | null;
  password_hash: string | null;
  status: ColumnType<"active" | "disabled" | "erased", "active" | "disabled" | "erased" | undefined, "active" | "disabled" | "erased">;
  roles: ColumnType<string[], string[] | undefined, string[]>;
  mfa_enabled: ColumnType<boolean, boolean | undefined, boolean>;
  totp_secret_enc: string | null;
  totp_pending_enc: string | null;
  totp_last_step: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  password_changed_at: NullableTime;
  erased_at: NullableTime;
  /** Quota plan (src/quotas); null = RAMPART_DEFAULT_PLAN. */
  plan: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the owner proved control of the address (src/auth/flows/email-verification.ts); null = not verified. */
  email_verified_at: NullableTime;
}

/** A login session (the access token's `sid`); its refresh tokens form one rotation family. */
export interface SessionsTable {
  id: string;
  user_id: string;
  client_enc: string | null;
  mfa: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Timestamp;
  last_used_at: Timestamp;
  expires_at: Date;
  revoked_at: NullableTime;
  revoke_reason: string | null;
}

export interface RefreshTokensTable {
  id: string;
  session_id: string;
  user_id: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Date;
  used_at: NullableTime;
  replaced_by: string | null;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  scopes: string[];
  created_at: Timestamp;
  expires_at: NullableTime;
  revoked_at: NullableTime;
  last_used_at: NullableTime;
  /** The key that created this one; null when a login session did. */
  parent_id: Generated<string | null>;
}

export interface BackupCodesTable {
  user_id: string;
  code_hash: string;
  created_at: Timestamp;
  used_at: NullableTime;
}

/** A single-use token sent by mail, stored as its SHA-256 (src/auth/stores/one-time-tokens.ts). */
export interface OneTimeTokensTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Date;
  used_at: NullableTime;
}

/** Password-reset tokens (src/auth/flows/password.ts). */
export type PasswordResetsTable = OneTimeTokensTable;

/** Email-verification tokens (src/auth/flows/email-verification.ts). */
export type EmailVerificationsTable = OneTimeTokensTable;

/** Outgoing mail, written in the same transaction as the change that sends it; the message is encrypted. */
export interface OutboxTable {
  id: string;
  user_id: string | null;
  kind: string;
  message_enc: string | null;
  created_at: Timestamp;
  next_attempt_at: Timestamp;
  attempts: ColumnType<number, number | undefined, number>;
  sent_at: NullableTime;
  last_error: string | null;
  /** The trace id of the request that queued the message (none outside a request). */
  trace_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** One audit entry: a link of the hash chain (src/audit). */
export interface AuditLogTable {
  seq: number;
  at: Date;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target: string | null;
  ip_hash: string | null;
  trace_id: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

/** An uploaded file's metadata (src/files); the blob is an rp1 framed ciphertext under the owner's key, the name is encrypted too. */
export interface FilesTable {
  id: string;
  user_id: string;
  name_enc: string;
  content_type: string;
  /** Plaintext bytes (bigint: read back as a string by the drivers). */
  size: ColumnType<string | number, number, number>;
  created_at: Date;
}

/** A blob whose file row is gone and which is still to be removed from the store (src/files/deletions.ts). */
export interface BlobDeletionsTable {
  blob_id: string;
  queued_at: Timestamp;
}

/** Persisted usage of one meter by one user in one period (src/quotas/usage-store.ts). */
export interface UsageTable {
  user_id: string;
  meter: string;
  period: "day" | "month";
  period_start: Date;
  used: ColumnType<string | number, number, number>;
  updated_at: Timestamp;
}

/** One inbound webhook event in the inbox (src/webhooks/inbox.ts); the payload is an rp1 ciphertext. */
export interface WebhookEventsTable {
  id: string;
  endpoint: string;
  provider: string;
  event_id: string;
  event_type: string | null;
  state: "received" | "processing" | "processed" | "failed" | "dead";
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Date;
  locked_until: Date | null;
  last_error: string | null;
  payload_enc: string;
  received_at: Date;
  processed_at: Date | null;
  /** The delivery id header as received (unsigned for GitHub): correlation only, never a key. */
  delivery_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The trace id of the request that delivered the event; its dispatch runs under it. */
  trace_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Keys of webhook events whose captures never expire (no signed timestamp); outlives the event rows (src/webhooks/inbox.ts). */
export interface WebhookDedupeTable {
  provider: string;
  dedupe_key: string;
  event_row_id: string;
  first_seen_at: Date;
}

/** One consent decision (history row) of a user for a purpose (src/gdpr). */
export interface ConsentsTable {
  id: string;
  user_id: string;
  purpose: string;
  granted: boolean;
  policy_version: string;
  ip_enc: string | null;
  at: Timestamp;
}

/** One-time provisioning steps already done (e.g. `admin`: the bootstrap admin was created). */
export interface BootstrapTable {
  step: string;
  user_id: string | null;
  done_at: Timestamp;
}

export interface Tables {
  rampart_bootstrap: BootstrapTable;
  rampart_consents: ConsentsTable;
  rampart_webhook_events: WebhookEventsTable;
  rampart_webhook_dedupe: WebhookDedupeTable;
  rampart_files: FilesTable;
  rampart_blob_deletions: BlobDeletionsTable;
  rampart_usage: UsageTable;
  rampart_audit_log: AuditLogTable;
  rampart_audit_head: AuditHeadTable;
  rampart_users: UsersTable;
  rampart_sessions: SessionsTable;
  rampart_refresh_tokens: RefreshTokensTable;
  rampart_api_keys: ApiKeysTable;
  rampart_backup_codes: BackupCodesTable;
  rampart_password_resets: PasswordResetsTable;
  rampart_email_verifications: EmailVerificationsTable;
  rampart_outbox: OutboxTable;
  rampart_leases: LeasesTable;
  rampart_kek_versions: KekVersionsTable;
  rampart_subject_keys: SubjectKeysTable;
  rampart_rewrap_cursors: RewrapCursorsTable;
  rampart_signing_keys: SigningKeysTable;
}

/**
 * Columns holding rp1 ciphertexts under the shared data keys (not subject
 * keys): key rotation must rewrap them and retirement must count them, so the
 * runtime registers every one with the keyring at start (src/runtime).
 * Subject-key ciphertexts (user data) need no entry: their keys live in
 * `rampart_subject_keys`.
 */
export const CIPHERTEXT_COLUMNS: readonly { table: keyof Tables & string; column: string; idColumn: string }[] = [
  { table: "rampart_signing_keys", column: "private_key_sealed", idColumn: "kid" },
  { table: "rampart_webhook_events", column: "payload_enc", idColumn: "id" },
];
