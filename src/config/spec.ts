/**
 * The configuration variables Rampart reads, with parser, default, whether the
 * value is secret (masked in errors and `rampart config`) and a description.
 * This table is the single source for the loader, `rampart config` and the
 * README's configuration table (a test keeps the README in step).
 */
import { boolean, ConfigValueError, purposeList, host, httpUrl, integer, nonEmpty, oneOf, trustProxy, urlWithScheme } from "./parsers.js";
import { isKekProviderName } from "../crypto/kek/types.js";
import { corsOrigins } from "../http/cors-origins.js";
import { DEFAULT_ALLOWED_TYPES, parseAllowedTypes } from "../files/types.js";
import { DEFAULT_PLANS_JSON, parsePlanName, parsePlans } from "../quotas/plans.js";
import { parseWebhookEndpoints } from "../webhooks/endpoints-config.js";
import { postgresUrl } from "../db/postgres-url.js";

export interface VarSpec<T> {
  readonly env: string;
  readonly parse: (raw: string) => T;
  /** Default as it would be written in the environment; undefined = unset. */
  readonly default?: string;
  readonly secret?: boolean;
  readonly description: string;
}

function v<T>(spec: VarSpec<T> & { default: string }): VarSpec<T> & { default: string };
function v<T>(spec: VarSpec<T>): VarSpec<T>;
function v<T>(spec: VarSpec<T>): VarSpec<T> {
  return spec;
}

export const configSpec = {
  nodeEnv: v({ env: "NODE_ENV", parse: oneOf("development", "production", "test"), default: "development", description: "`production` makes `serve` refuse pending PostgreSQL migrations (run `rampart migrate`) and logs JSON." }),
  port: v({ env: "PORT", parse: integer(0, 65535), default: "8080", description: "TCP port of the HTTP server (0 picks a free port)." }),
  host: v({ env: "HOST", parse: host, default: "127.0.0.1", description: "Address the HTTP server binds to." }),
  logLevel: v({ env: "LOG_LEVEL", parse: oneOf("fatal", "error", "warn", "info", "debug", "trace", "silent"), default: "info", description: "Minimum log level." }),
  logFormat: v({ env: "LOG_FORMAT", parse: oneOf("auto", "json", "pretty"), default: "auto", description: "`auto`: pretty on a terminal in development when the optional package `pino-pretty` is installed, JSON otherwise; `pretty` requires it." }),
  dataDir: v({ env: "RAMPART_DATA_DIR", parse: nonEmpty, default: "./.rampart", description: "Directory for the embedded database and local key material." }),
  publicUrl: v({ env: "RAMPART_PUBLIC_URL", parse: httpUrl, description: "Public base URL; the token issuer and the base of links in emails. Default `http://HOST:PORT`; required with `DATABASE_URL`, so that every instance on the database issues and accepts the same issuer." }),
  databaseUrl: v({ env: "DATABASE_URL", parse: postgresUrl, secret: true, description: "PostgreSQL URL (parameters `host`, `application_name`, `options`; TLS is set by `DATABASE_SSL`, never in the URL); unset = the secret `database-url` when a secrets provider has it (rotated without a restart), else embedded PGlite in the data directory. With either, in every `NODE_ENV`, the start requires `RAMPART_PUBLIC_URL` and the secrets `blind-index-key` and (with `RAMPART_KMS=local`) `master-key`: no development key is generated for a database instances share." }),
  databasePoolMax: v({ env: "DATABASE_POOL_MAX", parse: integer(1, 1000), default: "10", description: "Maximum PostgreSQL connections per process." }),
  databaseSsl: v({ env: "DATABASE_SSL", parse: oneOf("disable", "require", "verify-full"), default: "disable", description: "TLS to PostgreSQL: `require` encrypts, `verify-full` also checks the certificate and host name; production requires `verify-full` for a database host that is not loopback." }),
  databaseSslCa: v({ env: "DATABASE_SSL_CA", parse: nonEmpty, description: "Path of a PEM CA bundle for `DATABASE_SSL=verify-full`." }),
  redisUrl: v({ env: "REDIS_URL", parse: urlWithScheme("redis", "rediss"), secret: true, description: "Redis URL for shared state; unset = the secret `redis-url` when a secrets provider has it, else the in-process memory store (one instance only)." }),
  redisPrefix: v({ env: "REDIS_PREFIX", parse: nonEmpty, default: "rampart:", description: "Prefix of every Redis key this instance writes." }),
  trustProxy: v({ env: "TRUST_PROXY", parse: trustProxy, default: "false", description: "Proxies whose `X-Forwarded-*` headers are trusted: `false`, `true`, a hop count, or IPs/CIDRs." }),
  shutdownTimeoutMs: v({ env: "SHUTDOWN_TIMEOUT_MS", parse: integer(0, 600_000), default: "10000", description: "How long in-flight requests may finish after SIGTERM/SIGINT." }),
  shutdownDrainMs: v({ env: "SHUTDOWN_DRAIN_MS", parse: integer(0, 600_000), default: "0", description: "After SIGTERM/SIGINT, how long the server keeps serving while `/health/ready` answers 503, so a load balancer takes it out before the listener closes; `SHUTDOWN_TIMEOUT_MS` starts after it. Set it above the balancer's check interval times its fall count." }),
  workers: v({
    env: "WORKERS",
    parse: (raw: string): number | "auto" => {
      if (raw.trim() === "auto") return "auto";
      if (!/^\s*\d+\s*$/.test(raw) || Number(raw) < 1 || Number(raw) > 256) throw new ConfigValueError("auto or an integer from 1 to 256");
      return Number(raw);
    },
    default: "1",
    description: "Server processes `rampart serve` runs on one port (node:cluster; `--workers` overrides it): an integer from 1 to 256, or `auto` for one per CPU core. More than 1 needs `DATABASE_URL` and `REDIS_URL`.",
  }),
  bodyLimitBytes: v({ env: "BODY_LIMIT_BYTES", parse: integer(1024, 1_073_741_824), default: "1048576", description: "Default maximum request body size." }),
  healthCheckTimeoutMs: v({ env: "HEALTH_CHECK_TIMEOUT_MS", parse: integer(10, 60_000), default: "1000", description: "Timeout of each readiness check." }),
  autoMigrate: v({ env: "RAMPART_AUTO_MIGRATE", parse: boolean, description: "Apply pending migrations at start; default true for the embedded database and outside production." }),

  // --- secrets (src/secrets) ---
  secretsProviders: v({
    env: "RAMPART_SECRETS",
    // The form `scheme[:argument]` is checked here; the scheme and its argument are checked
    // against the runtime's secrets provider registry (built-ins and the app's) at start.
    parse: (raw: string): string[] => {
      const entries = raw.split(",").map((e) => e.trim());
      for (const e of entries) {
        if (!/^[a-z][a-z0-9-]{0,31}(?::\S.*)?$/.test(e)) throw new ConfigValueError("comma-separated entries scheme or scheme:<argument>, e.g. env,files:/run/secrets");
      }
      return entries;
    },
    default: "env",
    description: "Secret providers, first match wins: `env`, `dotenv:<file>`, `files:<dir>`, `aws:<prefix>`, `vault:<mount>/<path>`, or a scheme the host app registers (comma-separated); an unknown scheme stops the start.",
  }),
  secretsCacheTtlSeconds: v({ env: "SECRETS_CACHE_TTL_SECONDS", parse: integer(1, 86_400), default: "300", description: "How long a loaded secret is served from memory before it is reloaded (refreshed in the background from 80% of it)." }),
  secretsStaleIfErrorSeconds: v({ env: "SECRETS_STALE_IF_ERROR_SECONDS", parse: integer(0, 604_800), default: "3600", description: "How long past its TTL a cached secret is still served while its provider fails (0 = never)." }),
  secretsProviderTimeoutMs: v({ env: "SECRETS_PROVIDER_TIMEOUT_MS", parse: integer(100, 120_000), default: "5000", description: "Timeout of one call to a secrets provider." }),
  vaultAddr: v({ env: "VAULT_ADDR", parse: httpUrl, description: "Vault base URL for `vault:` secret providers." }),
  vaultNamespace: v({ env: "VAULT_NAMESPACE", parse: nonEmpty, description: "Vault Enterprise namespace (sent as `X-Vault-Namespace`)." }),
  vaultToken: v({ env: "VAULT_TOKEN", parse: nonEmpty, secret: true, description: "Vault token; alternatively AppRole with `VAULT_ROLE_ID` and `VAULT_SECRET_ID`." }),
  vaultRoleId: v({ env: "VAULT_ROLE_ID", parse: nonEmpty, secret: true, description: "Vault AppRole role ID (with `VAULT_SECRET_ID`)." }),
  vaultSecretId: v({ env: "VAULT_SECRET_ID", parse: nonEmpty, secret: true, description: "Vault AppRole secret ID (with `VAULT_ROLE_ID`)." }),
  vaultAppRoleMount: v({ env: "VAULT_APPROLE_MOUNT", parse: nonEmpty, default: "approle", description: "Mount path of Vault's AppRole auth method." }),
  awsRegion: v({ env: "AWS_REGION", parse: nonEmpty, description: "AWS region for `aws:` secret providers; unset = the AWS SDK's own resolution." }),
  // --- end secrets ---

  // --- auth (src/auth) ---
  argon2MemoryKib: v({ env: "ARGON2_MEMORY_KIB", parse: integer(8, 4_194_304), default: "19456", description: "argon2id memory cost in KiB per password hash; production refuses less than 19456 (OWASP floor)." }),
  argon2Iterations: v({ env: "ARGON2_ITERATIONS", parse: integer(1, 1_000), default: "2", description: "argon2id time cost (passes); production refuses less than 2." }),
  argon2Parallelism: v({ env: "ARGON2_PARALLELISM", parse: integer(1, 255), default: "1", description: "argon2id lanes (p); part of the hash, so changing it rehashes at the next login." }),
  argon2MaxConcurrency: v({ env: "ARGON2_MAX_CONCURRENCY", parse: integer(1, 1_024), description: "Password hashes computed at once, one per hashing thread (off the event loop); more wait in a queue. Unset = one fewer than the CPU cores (at least 1), so request handling keeps a core while logins saturate the hasher." }),
  argon2WorkerNice: v({ env: "ARGON2_WORKER_NICE", parse: integer(0, 19), default: "10", description: "Scheduling niceness of the password hashing threads (0 = the event loop's, 19 = lowest): request handling preempts hashing, which still uses every idle cycle." }),
  passwordMinLength: v({ env: "PASSWORD_MIN_LENGTH", parse: integer(8, 128), default: "12", description: "Shortest accepted password in characters (Unicode code points after NFKC); the longest is 128." }),
  accessTokenTtlSeconds: v({ env: "ACCESS_TOKEN_TTL_SECONDS", parse: integer(60, 86_400), default: "900", description: "Lifetime of an access token (JWT); also how long a session revocation is kept." }),
  revocationStaleMaxMs: v({ env: "REVOCATION_STALE_MAX_MS", parse: integer(0, 3_600_000), default: "30000", description: "While Redis is unreachable, how long after its last successful sync with the revocation log an instance keeps checking access tokens against its own copy (readiness `warn`); then authenticated requests answer 503 and readiness fails. A session revoked on another instance meanwhile may be accepted here for up to this long. 0 = fail closed at once." }),
  jwtAudience: v({ env: "JWT_AUDIENCE", parse: nonEmpty, default: "rampart", description: "The `aud` claim of access tokens; verification requires it. The issuer (`iss`) is `RAMPART_PUBLIC_URL`." }),
  jwtClockSkewSeconds: v({ env: "JWT_CLOCK_SKEW_SECONDS", parse: integer(0, 300), default: "30", description: "Clock skew tolerated when checking `exp`, `nbf` and `iat` of access tokens." }),
  signingKeyRotationDays: v({ env: "SIGNING_KEY_ROTATION_DAYS", parse: integer(1, 365), default: "30", description: "Age after which the active token signing key is replaced by a new one (scheduled rotation)." }),
  signingKeyPublishDelaySeconds: v({ env: "SIGNING_KEY_PUBLISH_DELAY_SECONDS", parse: integer(60, 86_400), default: "600", description: "How long a new signing key is published in the JWKS before it signs; the JWKS `max-age` is half of it (at most 300 s)." }),
  // --- end auth ---

  // --- identity services (src/auth, src/mail) ---
  refreshTokenTtlDays: v({ env: "REFRESH_TOKEN_TTL_DAYS", parse: integer(1, 365), default: "7", description: "Absolute lifetime of a session and its refresh tokens." }),
  refreshReuseGraceSeconds: v({ env: "REFRESH_REUSE_GRACE_SECONDS", parse: integer(0, 60), default: "10", description: "Concurrent refreshes with one token within this window get the same successor; any other reuse revokes the session. 0 disables the grace." }),
  passwordResetTtlMinutes: v({ env: "PASSWORD_RESET_TTL_MINUTES", parse: integer(5, 1_440), default: "30", description: "Lifetime of a password-reset token." }),
  authRegistrationConflict: v({ env: "AUTH_REGISTRATION_CONFLICT", parse: oneOf("silent", "explicit"), default: "silent", description: "`silent`: `POST /v1/auth/register` answers the same 202 for a new and an existing email (the owner is mailed a notice), so it does not reveal who has an account. `explicit`: 201 with the user, or 409 EMAIL_TAKEN." }),
  authRequireEmailVerification: v({ env: "AUTH_REQUIRE_EMAIL_VERIFICATION", parse: boolean, default: "false", description: "Refuse the login of an account whose email is not verified (403 EMAIL_NOT_VERIFIED, only after a correct password)." }),
  emailVerificationTtlHours: v({ env: "EMAIL_VERIFICATION_TTL_HOURS", parse: integer(1, 720), default: "48", description: "Lifetime of an email-verification link." }),
  mfaChallengeTtlSeconds: v({ env: "MFA_CHALLENGE_TTL_SECONDS", parse: integer(30, 3_600), default: "300", description: "Lifetime of the `mfaToken` issued by a password login when MFA is on." }),
  mfaMaxAttempts: v({ env: "MFA_MAX_ATTEMPTS", parse: integer(1, 20), default: "5", description: "Wrong codes allowed per MFA challenge before it is spent." }),
  mfaUserMaxFailures: v({ env: "MFA_USER_MAX_FAILURES", parse: integer(1, 100), default: "5", description: "Wrong TOTP or backup codes per user, across login challenges and re-authenticated actions, before the second factor locks (423 MFA_LOCKED)." }),
  mfaUserLockMinutes: v({ env: "MFA_USER_LOCK_MINUTES", parse: integer(1, 1_440), default: "15", description: "Window in which `MFA_USER_MAX_FAILURES` wrong codes lock the second factor, and how long the lock lasts." }),
  smtpUrl: v({ env: "SMTP_URL", parse: urlWithScheme("smtp", "smtps"), secret: true, description: "SMTP server for outgoing mail (`smtp://user:pass@host:587`); unset = the secret `smtp-url` when a secrets provider has it, else development mode: messages are written to the log." }),
  mailFrom: v({ env: "MAIL_FROM", parse: nonEmpty, default: "Rampart <no-reply@localhost>", description: "Sender of outgoing mail." }),
  bootstrapAdminEmail: v({ env: "RAMPART_BOOTSTRAP_ADMIN_EMAIL", parse: nonEmpty, description: "At first start, create this admin account with the password from the secret `bootstrap-admin-password` (never a default password)." }),
  consentPurposes: v({ env: "CONSENT_PURPOSES", parse: purposeList, default: "marketing,analytics", description: "Purposes a user can consent to (`GET/PUT /v1/me/consents`)." }),
  consentPolicyVersion: v({ env: "CONSENT_POLICY_VERSION", parse: nonEmpty, default: "1", description: "Version of the privacy policy recorded with every consent change." }),
  retentionIntervalMinutes: v({ env: "RETENTION_INTERVAL_MINUTES", parse: integer(1, 10_080), default: "60", description: "How often the retention job purges expired records (one instance at a time)." }),
  retentionSessionsDays: v({ env: "RETENTION_SESSIONS_DAYS", parse: integer(1, 3_650), default: "30", description: "Ended (expired or revoked) sessions are deleted this long after they ended." }),
  retentionOutboxDays: v({ env: "RETENTION_OUTBOX_DAYS", parse: integer(1, 3_650), default: "30", description: "Sent mail records (without content) are deleted after this." }),
  retentionWebhookEventsDays: v({ env: "RETENTION_WEBHOOK_EVENTS_DAYS", parse: integer(1, 3_650), default: "30", description: "Processed and dead-lettered webhook events are deleted after this." }),
  auditHeadLogIntervalSeconds: v({ env: "AUDIT_HEAD_LOG_INTERVAL_SECONDS", parse: integer(10, 86_400), default: "300", description: "How often the audit chain head (seq:hash) is written to the log, for `rampart audit verify --expect-head`." }),
  auditVerifyIntervalSeconds: v({ env: "AUDIT_VERIFY_INTERVAL_SECONDS", parse: integer(0, 86_400), default: "60", description: "How often `rampart serve` verifies the audit hash chain (one instance at a time): the entries appended since the last verified head, and the whole chain at start and every `AUDIT_VERIFY_FULL_INTERVAL_HOURS`; a broken chain is logged and exported as `rampart_audit_chain_verified` 0. 0 = off." }),
  auditVerifyFullIntervalHours: v({ env: "AUDIT_VERIFY_FULL_INTERVAL_HOURS", parse: integer(1, 8_760), default: "24", description: "How often the audit verification walks the whole chain instead of the new entries only (an old entry edited without re-chaining is found only by a full walk)." }),
  // --- end identity services ---

  // --- metrics (src/metrics) ---
  metricsEnabled: v({ env: "METRICS_ENABLED", parse: boolean, default: "true", description: "Prometheus metrics (`GET /metrics`, text format): HTTP latency, security events, rejections, secrets cache, KMS, argon2, database pool, process." }),
  metricsPort: v({ env: "METRICS_PORT", parse: integer(0, 65535), description: "Serve `/metrics` on this port of 127.0.0.1 only, without a token (0 picks a free port). Unset = on the main port behind `Authorization: Bearer <secret metrics-token>` (401 while that secret is missing)." }),
  // --- end metrics ---

  // --- http hardening (src/ratelimit, src/webhooks, src/resilience, ...) ---
  rateLimitEnabled: v({ env: "RATE_LIMIT_ENABLED", parse: boolean, default: "true", description: "Rate limiting of every route (token bucket per client); `false` switches it off (never in production)." }),
  rateLimitRequestsPerMinute: v({ env: "RATE_LIMIT_REQUESTS_PER_MINUTE", parse: integer(1, 1_000_000), default: "100", description: "Default policy: requests per minute (and burst) per principal, or per client IP when anonymous." }),
  rateLimitLoginPerMinute: v({ env: "RATE_LIMIT_LOGIN_PER_MINUTE", parse: integer(1, 1_000_000), default: "10", description: "`login` policy: attempts per minute per client IP, on top of account lockout." }),
  rateLimitRegisterPerMinute: v({ env: "RATE_LIMIT_REGISTER_PER_MINUTE", parse: integer(1, 1_000_000), default: "5", description: "`register` policy: sign-ups per minute per client IP." }),
  rateLimitPasswordForgotPerMinute: v({ env: "RATE_LIMIT_PASSWORD_FORGOT_PER_MINUTE", parse: integer(1, 1_000_000), default: "5", description: "`forgot` policy (password forgot and reset): requests per minute per client IP." }),
  rateLimitOnStoreError: v({ env: "RATE_LIMIT_ON_STORE_ERROR", parse: oneOf("open", "closed"), default: "open", description: "While Redis is unreachable: `open` limits with an in-process limiter (readiness `warn`), `closed` refuses with 503." }),
  rateLimitMemoryMaxKeys: v({ env: "RATE_LIMIT_MEMORY_MAX_KEYS", parse: integer(100, 100_000_000), default: "100000", description: "Most buckets the in-process limiter keeps; full buckets go first, then the least recently used." }),
  corsOrigins: v({ env: "CORS_ORIGINS", parse: corsOrigins, description: "Origins whose browser scripts may call the API: comma-separated exact origins (`https://app.example.com`; scheme, host, port, no path), or `*` (never with credentials). Unset = no cross-origin access; `null` is never allowed." }),
  corsAllowCredentials: v({ env: "CORS_ALLOW_CREDENTIALS", parse: boolean, default: "false", description: "Let the allowed origins send cookies and HTTP authentication (`Access-Control-Allow-Credentials`); refused with `CORS_ORIGINS=*`." }),
  corsMaxAgeSeconds: v({ env: "CORS_MAX_AGE_SECONDS", parse: integer(0, 86_400), default: "600", description: "How long browsers may cache a preflight answer (`Access-Control-Max-Age`)." }),
  hstsMaxAgeSeconds: v({ env: "HSTS_MAX_AGE_SECONDS", parse: integer(0, 63_072_000), default: "31536000", description: "`Strict-Transport-Security` max-age (with includeSubDomains), sent in production only; production refuses less than one year." }),
  instances: v({ env: "RAMPART_INSTANCES", parse: integer(1, 10_000), default: "1", description: "How many server processes share these stores (all hosts and workers); production refuses more than 1 without `REDIS_URL` and `DATABASE_URL`." }),
  uploadMaxBytes: v({ env: "UPLOAD_MAX_BYTES", parse: integer(1, 1_073_741_824), default: "10485760", description: "Largest file `POST /v1/files` accepts (default 10 MiB); a larger upload is refused with 413 while it streams." }),
  uploadAllowedTypes: v({ env: "UPLOAD_ALLOWED_TYPES", parse: parseAllowedTypes, default: DEFAULT_ALLOWED_TYPES, description: "File types uploads may have, recognised by their magic bytes: a comma-separated subset of `png`, `jpeg`, `gif`, `webp`, `pdf`." }),
  filesDir: v({ env: "RAMPART_FILES_DIR", parse: nonEmpty, description: "Directory of the encrypted upload blobs (shared by every instance in scale-out). Default `<RAMPART_DATA_DIR>/files`." }),
  plans: v({ env: "RAMPART_PLANS", parse: parsePlans, default: DEFAULT_PLANS_JSON, description: "Quota plans as JSON: plan → meter (`api.requests`, `files.bytes`, or a meter the app registers) → `{day?, month?}` limits per UTC day and month; a meter a plan omits is unlimited. A meter that does not exist stops the start, naming it." }),
  defaultPlan: v({ env: "RAMPART_DEFAULT_PLAN", parse: parsePlanName, default: "free", description: "Plan of users an admin has not put on another one; must be a plan of `RAMPART_PLANS`." }),
  quotaPersistIntervalMs: v({ env: "QUOTA_PERSIST_INTERVAL_MS", parse: integer(100, 3_600_000), default: "10000", description: "How often each instance writes its quota usage to the database (for `/v1/admin/usage` and restarts); also written at shutdown." }),
  webhookEndpoints: v({ env: "WEBHOOK_ENDPOINTS", parse: parseWebhookEndpoints, default: "", description: "Inbound webhook endpoints `POST /v1/webhooks/<name>`: comma-separated `name=provider:secret-name` (providers `stripe`, `standard`, `github`), e.g. `payments=stripe:stripe-webhook`; the secret may hold several newline-separated values during a rotation." }),
  webhookMaxAttempts: v({ env: "WEBHOOK_MAX_ATTEMPTS", parse: integer(1, 100), default: "8", description: "Dispatch attempts of one inbound webhook event before it is dead-lettered." }),
  webhookRetryBaseMs: v({ env: "WEBHOOK_RETRY_BASE_MS", parse: integer(1, 3_600_000), default: "5000", description: "First retry delay of a failed webhook dispatch; doubles per attempt, with jitter (half to all of it)." }),
  webhookRetryMaxMs: v({ env: "WEBHOOK_RETRY_MAX_MS", parse: integer(1, 86_400_000), default: "3600000", description: "Longest delay between two dispatch attempts of one webhook event." }),
  webhookHandlerTimeoutMs: v({ env: "WEBHOOK_HANDLER_TIMEOUT_MS", parse: integer(1, 600_000), default: "10000", description: "Longest one webhook handler may run before the attempt counts as failed." }),
  webhookPollIntervalMs: v({ env: "WEBHOOK_POLL_INTERVAL_MS", parse: integer(10, 3_600_000), default: "1000", description: "How often each instance looks for due webhook events (retries, events received by a crashed instance)." }),
  idempotencyTtlHours: v({ env: "IDEMPOTENCY_TTL_HOURS", parse: integer(1, 720), default: "24", description: "How long the first response to an `Idempotency-Key` is kept and replayed." }),
  compressionEnabled: v({ env: "COMPRESSION_ENABLED", parse: boolean, default: "true", description: "Compress (br, gzip, deflate per `Accept-Encoding`) the responses of routes declared `config: { compress: true }`: lists and documents without secrets; token, key and code responses never (BREACH). `false` registers no compression, e.g. for an app that brings its own." }),
  compressionThresholdBytes: v({ env: "COMPRESSION_THRESHOLD_BYTES", parse: integer(0, 104_857_600), default: "1024", description: "Smallest response body that is compressed; smaller ones are sent as they are." }),
  // --- end http hardening ---

  // --- crypto (src/crypto) ---
  kms: v({
    env: "RAMPART_KMS",
    // Any registered provider: the runtime's registry (built-ins and the app's) refuses an unknown name at start.
    parse: (raw: string): string => {
      const name = raw.trim();
      if (!isKekProviderName(name)) throw new ConfigValueError("a KEK provider name (lower-case letters, digits, dashes)");
      return name;
    },
    default: "local",
    description: "Key encryption key provider: `local` (secret `master-key`; generated only for the embedded database outside production), `pkcs11` (HSM), `aws-kms`, `vault-transit`, or one the host app registers; an unknown name stops the start.",
  }),
  pkcs11Module: v({ env: "PKCS11_MODULE", parse: nonEmpty, description: "Path of the PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`) for `RAMPART_KMS=pkcs11`; the PIN is the secret `pkcs11-pin`." }),
  pkcs11TokenLabel: v({ env: "PKCS11_TOKEN_LABEL", parse: nonEmpty, description: "Label of the PKCS#11 token holding the key encryption key." }),
  pkcs11KeyLabel: v({ env: "PKCS11_KEY_LABEL", parse: nonEmpty, default: "rampart-kek", description: "Label of the AES key in the token (created on first use, non-extractable; later versions get `.vN`)." }),
  awsKmsKeyId: v({ env: "AWS_KMS_KEY_ID", parse: nonEmpty, description: "KMS key id, ARN or alias for `RAMPART_KMS=aws-kms`; region and credentials come from the AWS SDK's usual sources." }),
  vaultTransitAddr: v({ env: "VAULT_TRANSIT_ADDR", parse: httpUrl, description: "Vault base URL for `RAMPART_KMS=vault-transit`; the token is the secret `vault-token`." }),
  vaultTransitMount: v({ env: "VAULT_TRANSIT_MOUNT", parse: nonEmpty, default: "transit", description: "Mount path of the Vault Transit engine." }),
  vaultTransitKey: v({ env: "VAULT_TRANSIT_KEY", parse: nonEmpty, default: "rampart", description: "Name of the Transit key (created with `derived=true`) that wraps data keys." }),
  dekMaxAgeMs: v({ env: "CRYPTO_DEK_MAX_AGE_MS", parse: integer(1_000, 86_400_000), default: "300000", description: "Longest time one data key encrypts new messages before a fresh one is made." }),
  dekMaxMessages: v({ env: "CRYPTO_DEK_MAX_MESSAGES", parse: integer(1, 4_294_967_296), default: "1000000", description: "Most messages one data key encrypts before a fresh one is made." }),
  dekMaxBytes: v({ env: "CRYPTO_DEK_MAX_BYTES", parse: integer(1, Number.MAX_SAFE_INTEGER), default: "17179869184", description: "Most plaintext bytes (default 16 GiB) one data key encrypts before a fresh one is made." }),
  dekCacheSize: v({ env: "CRYPTO_DEK_CACHE_SIZE", parse: integer(1, 10_000_000), default: "10000", description: "Most unwrapped data keys (shared and per-subject) kept in memory for decryption." }),
  dekCacheMaxAgeMs: v({ env: "CRYPTO_DEK_CACHE_MAX_AGE_MS", parse: integer(1_000, 86_400_000), default: "300000", description: "Longest time an unwrapped data key stays cached for decryption (also bounds a missed shred notice)." }),
  // --- end crypto ---
} as const;

export type ConfigSpec = typeof configSpec;
type Parsed<S> = S extends VarSpec<infer T> ? T : never;
type HasDefault<S> = S extends { default: string } ? true : false;

/** The typed, frozen configuration. */
export type Config = {
  readonly [K in keyof ConfigSpec]: HasDefault<ConfigSpec[K]> extends true ? Parsed<ConfigSpec[K]> : Parsed<ConfigSpec[K]> | undefined;
} & {
  readonly publicUrl: string;
  /**
   * Whether RAMPART_PUBLIC_URL was set; false when `publicUrl` is the
   * `http://HOST:PORT` default, which differs per instance and so cannot be
   * the issuer of a database shared by several (the runtime refuses it there).
   */
  readonly publicUrlConfigured: boolean;
};
