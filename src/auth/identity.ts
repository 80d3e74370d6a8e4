/**
 * The identity capability assembled on a runtime: users, password hashing and
 * policy, lockout, sessions and refresh rotation, access tokens and the
 * revocation list, MFA, mail. Flows (src/auth/flows/*) and the HTTP routes use
 * this one object; `close()` stops its timers and subscriptions.
 */
import type { Runtime } from "../runtime/index.js";
import { createMailTransport, SMTP_UPSTREAM, smtpUpstreamOptions, type MailTransport } from "../mail/index.js";
import { Outbox } from "../mail/outbox.js";
import { Lockout } from "./lockout.js";
import { PermissionRegistry, type PermissionOptions } from "./permissions.js";
import { createPasswordHasher, createPasswordPolicy, type PasswordHasher, type PasswordPolicy } from "./password/index.js";
import { RevocationList, revocationRetentionMs } from "./revocation/index.js";
import { Sessions } from "./sessions.js";
import { createCredentialStore, type CredentialStore } from "./stores/credentials.js";
import { createSecondFactorStore, type SecondFactorStore } from "./stores/second-factor.js";
import { createAccessTokens, settingsFromConfig, type AccessTokens, type Sealer } from "./tokens/index.js";
import { createAttemptCounter, type AttemptCounter, type UsedStepStore } from "./totp/index.js";
import { Users } from "./users.js";

export interface Identity {
  readonly runtime: Runtime;
  readonly users: Users;
  /** The permissions and roles (built-in and the app's) every guard and credential is checked against. */
  readonly permissions: PermissionRegistry;
  readonly hasher: PasswordHasher;
  readonly policy: PasswordPolicy;
  /** Password failures per account (email blind index): login and re-authentication alike. */
  readonly lockout: Lockout;
  /** Second-factor failures per user, across login challenges and re-authenticated actions. */
  readonly mfaLockout: Lockout;
  readonly credentials: CredentialStore;
  readonly secondFactors: SecondFactorStore;
  readonly sessions: Sessions;
  readonly tokens: AccessTokens;
  readonly revocations: RevocationList;
  readonly mfaAttempts: AttemptCounter;
  readonly usedSteps: UsedStepStore;
  readonly mail: MailTransport;
  readonly outbox: Outbox;
  /** Background work started by a request (forgot-password) that close() waits for. */
  track(work: Promise<unknown>): void;
  /**
   * First step of closing: password hashes still queued fail with 503 (the
   * ones computing finish); a hasher passed in through the options is left
   * alone (its owner closes it).
   */
  stopHashing(): Promise<void>;
  close(): Promise<void>;
}

export interface IdentityOptions extends PermissionOptions {
  /** Override the password hasher (tests use the OWASP floor; production config decides). */
  hasher?: PasswordHasher;
  policy?: PasswordPolicy;
  /** Start the outbox's delivery loop (default true). */
  deliverMail?: boolean;
}

export async function createIdentity(runtime: Runtime, options: IdentityOptions = {}): Promise<Identity> {
  const { config, db, kv, clock, log, crypto } = runtime;
  // Validated before anything opens: a bad permission or role fails the start, naming it.
  const permissions = PermissionRegistry.create({ ...(options.permissions ? { permissions: options.permissions } : {}), ...(options.roles ? { roles: options.roles } : {}) });
  const now = () => clock.now();
  const settings = settingsFromConfig(config);
  const sealer: Sealer = {
    seal: (plaintext, context) => crypto.encrypt(plaintext, context),
    open: (sealed, context) => crypto.decrypt(sealed, context),
  };
  const closers: (() => Promise<void> | void)[] = [];
  const pending = new Set<Promise<unknown>>();
  try {
    const revocations = await RevocationList.create({ kv, clock, log, retentionMs: revocationRetentionMs(config), staleMaxMs: config.revocationStaleMaxMs });
    closers.push(() => revocations.close());
    // Readiness `revocations`: warn while serving from the local copy, fail once past REVOCATION_STALE_MAX_MS.
    const revocationCheck = revocations.healthCheck();
    runtime.healthChecks.push(revocationCheck);
    closers.push(() => {
      const i = runtime.healthChecks.indexOf(revocationCheck);
      if (i >= 0) runtime.healthChecks.splice(i, 1);
    });
    const tokens = await createAccessTokens({ db: db.kysely, kv, clock, log, sealer, settings, revocations });
    closers.push(() => tokens.close());
    const users = await Users.create({ db: db.kysely, keyring: crypto, kv, now });
    closers.push(() => users.close());
    const hasher = options.hasher ?? createPasswordHasher(config);
    if (!options.hasher) closers.push(() => hasher.close());
    const policy = options.policy ?? createPasswordPolicy(config);
    closers.push(() => policy.close());
    const mail = createMailTransport({ smtpUrl: config.smtpUrl, from: config.mailFrom, log, upstream: runtime.upstreams.ensure(SMTP_UPSTREAM, smtpUpstreamOptions()) });
    closers.push(() => mail.close());
    const outbox = new Outbox({ db: db.kysely, keyring: crypto, transport: mail, log, now });
    if (options.deliverMail !== false) {
      outbox.start();
      closers.push(() => outbox.stop());
    }
    const sessions = new Sessions(
      db.kysely,
      kv,
      crypto,
      revocations,
      { ttlMs: config.refreshTokenTtlDays * 86_400_000, graceMs: config.refreshReuseGraceSeconds * 1000 },
      now,
      (trx, userId, sessionId) => runtime.events.emit("auth.refresh.reused", { actor: { type: "user", id: userId }, target: `session:${sessionId}` }, trx),
    );
    const secondFactors = createSecondFactorStore(db.kysely);
    // A step is accepted only when later than every step accepted before, on any instance.
    const usedSteps: UsedStepStore = { markUsed: (userId, step) => secondFactors.claimTotpStep(userId, step) };
    const mfaLockMs = config.mfaUserLockMinutes * 60_000;
    return {
      runtime,
      users,
      permissions,
      hasher,
      policy,
      lockout: new Lockout(kv),
      mfaLockout: new Lockout(kv, { maxFailures: config.mfaUserMaxFailures, windowMs: mfaLockMs, lockMs: mfaLockMs }, "mfa-lockout"),
      credentials: createCredentialStore(db.kysely),
      secondFactors,
      sessions,
      tokens,
      revocations,
      mfaAttempts: createAttemptCounter(kv, { maxAttempts: config.mfaMaxAttempts, ttlMs: config.mfaChallengeTtlSeconds * 1000 }),
      usedSteps,
      mail,
      outbox,
      track(work) {
        pending.add(work);
        void work.finally(() => pending.delete(work)).catch(() => undefined);
      },
      stopHashing: () => (options.hasher ? Promise.resolve() : hasher.close()),
      async close() {
        await Promise.allSettled([...pending]);
        for (const fn of closers.reverse()) await Promise.resolve(fn()).catch((err: unknown) => log.error({ err }, "error closing identity"));
      },
    };
  } catch (err) {
    for (const fn of closers.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    throw err;
  }
}
