/**
 * The access-token service of one instance: issues and verifies tokens, serves
 * the JWKS and keeps its signing keys in step with the database (reload on an
 * interval and on `signing-keys:changed`, rotation check under a lease).
 * Everything it touches is passed in; nothing lives at module level.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Unsubscribe } from "../../kv/types.js";
import type { RevocationCheck } from "../revocation/revocation-list.js";
import { issueAccessToken } from "./issuer.js";
import { SigningKeyRing } from "./key-ring.js";
import { rotateSigningKey, runRotationCheck, SIGNING_KEYS_CHANNEL, type RotationResult, type RotatorDeps, type SigningKeyDeps } from "./rotator.js";
import { jwksMaxAgeSeconds } from "./settings.js";
import type { AccessTokenClaims, IssueAccessTokenInput, IssuedAccessToken, JwkSet } from "./types.js";
import { AccessTokenVerifier } from "./verifier.js";

/** What the service needs; see settingsFromConfig for `settings`. */
export interface AccessTokensOptions extends SigningKeyDeps {
  /** Checked on every verification, cached or not; omit to verify signatures and claims only. */
  readonly revocations?: RevocationCheck;
  /** Most verified tokens cached per instance (default 10 000; 0 = no cache). */
  readonly cacheSize?: number;
  /** Reload of the key set from the database (default 30 000 ms; 0 = only on messages). */
  readonly reloadIntervalMs?: number;
  /** Scheduled rotation check (default 60 000 ms; 0 = never, e.g. in tests that call checkRotation). */
  readonly rotationCheckIntervalMs?: number;
}

/** One instance's access tokens. */
export interface AccessTokens {
  /** Issues a token for a session with the current signing key. */
  issue(input: IssueAccessTokenInput): Promise<IssuedAccessToken>;
  /**
   * The claims of a valid, unrevoked token. Throws RampartError
   * `TOKEN_EXPIRED`, `TOKEN_REVOKED` or `UNAUTHENTICATED`.
   */
  verify(token: string): Promise<AccessTokenClaims>;
  /** The public JWK Set (RFC 7517 §5) at this moment. */
  jwks(): JwkSet;
  /** `max-age` for the JWKS response; shorter than the publish delay. */
  readonly jwksMaxAgeSeconds: number;
  /** The kid new tokens are signed with now. */
  currentKid(): string | undefined;
  /** Manual rotation (`rampart keys rotate-signing`); see rotateSigningKey. */
  rotate(options?: { emergency?: boolean }): Promise<RotationResult>;
  /** One scheduled rotation step under the lease; returns whether keys changed. */
  checkRotation(): Promise<boolean>;
  /** Reads the key set from the database again. */
  reload(): Promise<void>;
  /** Stops timers and the subscription. */
  close(): Promise<void>;
}

/**
 * Creates the service: subscribes to key changes, loads the keys, creates the
 * first key when there is none (once across instances, under the lease) and
 * starts the reload and rotation timers.
 */
export async function createAccessTokens(options: AccessTokensOptions): Promise<AccessTokens> {
  const { db, kv, clock, log, sealer, settings } = options;
  const ring = new SigningKeyRing({ db, log, sealer });
  const verifier = new AccessTokenVerifier({ ring, clock, settings, cacheSize: options.cacheSize ?? 10_000 });
  const rotator: RotatorDeps = { db, kv, clock, log, sealer, settings, holder: `${process.pid}:${randomBytes(8).toString("hex")}` };
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: Unsubscribe | undefined;

  const reloadInBackground = (): void => {
    ring.reload().catch((err: unknown) => log.warn({ err }, "could not reload signing keys"));
  };
  const checkRotation = async (): Promise<boolean> => {
    const changed = await runRotationCheck(rotator);
    if (changed) await ring.reload();
    return changed;
  };

  // Subscribe before the first load, so a change made after that load is not missed.
  unsubscribe = await kv.subscribe(SIGNING_KEYS_CHANNEL, reloadInBackground);
  try {
    await ring.reload();
    await checkRotation();
    // Another instance may hold the lease while it creates the first key: wait for it.
    for (let i = 0; ring.signingKid(clock.now()) === undefined && i < 100; i++) {
      await sleep(100);
      await ring.reload();
      if (ring.signingKid(clock.now()) === undefined) await checkRotation();
    }
    if (ring.signingKid(clock.now()) === undefined) throw new Error("no token signing key could be loaded or created");
  } catch (err) {
    await unsubscribe();
    throw err;
  }

  const every = (ms: number | undefined, fallback: number, fn: () => void): void => {
    const interval = ms ?? fallback;
    if (interval > 0) timers.push(setInterval(fn, interval).unref());
  };
  every(options.reloadIntervalMs, 30_000, reloadInBackground);
  every(options.rotationCheckIntervalMs, 60_000, () => {
    checkRotation().catch((err: unknown) => log.warn({ err }, "signing-key rotation check failed"));
  });

  return {
    async issue(input) {
      const now = clock.now();
      return issueAccessToken(await ring.signingKey(now), settings, input, now);
    },
    async verify(token) {
      const claims = await verifier.verify(token);
      if (options.revocations) await options.revocations.assertNotRevoked(claims.sid);
      return claims;
    },
    jwks: () => ring.jwks(clock.now()),
    jwksMaxAgeSeconds: jwksMaxAgeSeconds(settings),
    currentKid: () => ring.signingKid(clock.now()),
    async rotate(rotateOptions) {
      const result = await rotateSigningKey(rotator, rotateOptions);
      await ring.reload();
      return result;
    },
    checkRotation,
    reload: () => ring.reload(),
    async close() {
      for (const t of timers.splice(0)) clearInterval(t);
      const u = unsubscribe;
      unsubscribe = undefined;
      await u?.();
    },
  };
}
