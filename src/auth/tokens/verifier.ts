/**
 * Verifies access tokens against our own keys only. The algorithm is pinned
 * to EdDSA (RFC 8725 §3.1: never trust `alg`), `kid` is only a key into our
 * key ring, and `jku`, `x5u`, `jwk` and `x5c` are never used (RFC 8725 §3.10:
 * a token cannot name its own key). `typ` must be `at+jwt` (RFC 9068 §4),
 * `iss`, `aud`, `exp`, `nbf` and `iat` are checked with the configured skew
 * (RFC 7519 §4.1). An expired but authentic token is `TOKEN_EXPIRED`; every
 * other failure is one `UNAUTHENTICATED` with one message, so a caller learns
 * nothing about why a forged token failed.
 */
import { errors, jwtVerify, type JWTPayload } from "jose";
import { RampartError } from "../../errors/index.js";
import type { Clock } from "../../runtime/clock.js";
import { ACCESS_TOKEN_TYP } from "./issuer.js";
import type { SigningKeyRing } from "./key-ring.js";
import { VerifiedTokenCache } from "./token-cache.js";
import type { AccessTokenClaims, AccessTokenSettings } from "./types.js";

/** Longer input is refused before any parsing (our tokens are ~400 bytes). */
export const MAX_TOKEN_LENGTH = 8192;

const INVALID_MESSAGE = "The access token is not valid.";

/** The one error of every verification failure other than expiry. */
export function invalidTokenError(cause?: unknown): RampartError {
  return new RampartError("UNAUTHENTICATED", { message: INVALID_MESSAGE, ...(cause === undefined ? {} : { cause }) });
}

/** What verification needs. */
export interface VerifierDeps {
  readonly ring: Pick<SigningKeyRing, "verificationKey" | "trusts">;
  readonly clock: Clock;
  readonly settings: AccessTokenSettings;
  /** Most verified tokens cached per instance; 0 turns the cache off. */
  readonly cacheSize: number;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

function toClaims(p: JWTPayload, kid: string, audience: string): AccessTokenClaims {
  const { iss, sub, jti, iat, exp, aud } = p;
  const { sid, roles, scope } = p as Record<string, unknown>;
  if (typeof iss !== "string" || typeof sub !== "string" || typeof jti !== "string" || typeof sid !== "string") throw invalidTokenError();
  if (typeof iat !== "number" || typeof exp !== "number" || !isStringArray(roles)) throw invalidTokenError();
  if (scope !== undefined && typeof scope !== "string") throw invalidTokenError();
  if (aud !== audience && !(Array.isArray(aud) && aud.includes(audience))) throw invalidTokenError();
  return Object.freeze({
    iss,
    aud: audience,
    sub,
    sid,
    roles: Object.freeze([...roles]),
    scopes: Object.freeze(scope === undefined ? [] : scope.split(" ").filter((s) => s.length > 0)),
    iat,
    exp,
    jti,
    kid,
  });
}

/** Verifies access tokens with a bounded cache of verified ones. */
export class AccessTokenVerifier {
  private readonly cache: VerifiedTokenCache;

  constructor(private readonly deps: VerifierDeps) {
    this.cache = new VerifiedTokenCache(deps.cacheSize);
  }

  /**
   * The claims of a valid token; throws RampartError `TOKEN_EXPIRED` or
   * `UNAUTHENTICATED`. Does not check revocation (see AccessTokens.verify).
   */
  async verify(token: string): Promise<AccessTokenClaims> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalidTokenError();
    const now = this.deps.clock.now();
    const cacheKey = VerifiedTokenCache.keyOf(token);
    const cached = this.cache.get(cacheKey, now);
    // A cached token still needs its key to be trusted: an emergency rotation removes it at once.
    if (cached && this.deps.ring.trusts(cached.kid, now)) return cached;
    const claims = await this.verifyUncached(token, now);
    // Valid while `exp` is within the skew: exactly when a full verification would accept it.
    this.cache.set(cacheKey, claims, (claims.exp + this.deps.settings.clockSkewSeconds) * 1000);
    return claims;
  }

  /** Full verification, bypassing the cache. */
  async verifyUncached(token: string, now: number = this.deps.clock.now()): Promise<AccessTokenClaims> {
    const { settings, ring } = this.deps;
    let kid = "";
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          // RFC 7515 §4.1.4: kid is a hint to select one of OUR keys; unknown → fail, never fetch.
          const key = typeof header.kid === "string" ? ring.verificationKey(header.kid, now) : undefined;
          if (!key) throw invalidTokenError();
          kid = header.kid as string;
          return key;
        },
        {
          algorithms: ["EdDSA"],
          typ: ACCESS_TOKEN_TYP,
          issuer: settings.issuer,
          audience: settings.audience,
          clockTolerance: settings.clockSkewSeconds,
          // Bounds the lifetime and refuses an `iat` in the future (beyond the skew).
          maxTokenAge: settings.ttlSeconds,
          requiredClaims: ["iss", "aud", "sub", "iat", "exp", "jti", "sid"],
          currentDate: new Date(now),
        },
      );
      return toClaims(payload, kid, settings.audience);
    } catch (err) {
      // jose checks the signature before any claim, so only an authentic token is reported expired.
      if (err instanceof errors.JWTExpired) throw new RampartError("TOKEN_EXPIRED", { cause: err });
      if (err instanceof RampartError && err.code === "UNAUTHENTICATED") throw err;
      throw invalidTokenError(err);
    }
  }

  /** Number of cached verified tokens. */
  get cacheEntries(): number {
    return this.cache.size;
  }
}
