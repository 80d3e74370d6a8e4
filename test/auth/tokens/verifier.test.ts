/**
 * AccessTokenVerifier on its own, without a database: a key ring over keys
 * made here with jose, a manual clock, and tokens signed here with jose's
 * SignJWT (or assembled by hand where jose refuses to sign them), so each
 * malformed token is built independently of the issuer. Covers the pinned
 * algorithm and `typ`, `iss`/`aud`, the time claims at the exact edges of
 * the skew, the length bound, the claim types, the one generic error (with
 * its cause for the logs) against `TOKEN_EXPIRED` for an authentic expired
 * token, and the verified-token cache: on, off, bounded by expiry plus skew,
 * and dropped once the key is no longer trusted.
 */
import { errors, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AccessTokenVerifier, invalidTokenError, MAX_TOKEN_LENGTH } from "../../../src/auth/tokens/verifier.js";
import type { AccessTokenSettings } from "../../../src/auth/tokens/types.js";
import { RampartError } from "../../../src/errors/index.js";
import { ManualClock } from "../../../src/runtime/clock.js";

const ISSUER = "https://id.example.test";
const AUDIENCE = "rampart-test";
const TTL = 900;
const SKEW = 30;
const SETTINGS: AccessTokenSettings = { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL, clockSkewSeconds: SKEW, rotationMs: 86_400_000, publishDelayMs: 120_000 };
const KID = "key-1";
const INVALID = "The access token is not valid.";

/**
 * The part of the key ring the verifier uses. Keys are looked up in a plain
 * object, which turns any kid into a property name: the verifier must not
 * rely on the ring to refuse a kid that is not a string.
 */
class TestRing {
  readonly keys: Record<string, CryptoKey> = Object.create(null) as Record<string, CryptoKey>;
  /** Epoch ms from which a key is no longer published (an emergency rotation). */
  readonly until: Record<string, number> = Object.create(null) as Record<string, number>;
  /** Calls of verificationKey: one per full verification that reached the key lookup. */
  lookups = 0;
  readonly asked: number[] = [];

  private published(kid: string, now: number): boolean {
    return Object.hasOwn(this.keys, kid) && !(Object.hasOwn(this.until, kid) && now >= this.until[kid]!);
  }
  verificationKey(kid: string, now: number): CryptoKey | undefined {
    this.lookups++;
    this.asked.push(now);
    return this.published(kid, now) ? this.keys[kid] : undefined;
  }
  trusts(kid: string, now: number): boolean {
    return this.published(kid, now);
  }
}

interface Failure {
  code: unknown;
  status: unknown;
  message: string;
  cause: unknown;
  isRampart: boolean;
}

/** How a verification failed; fails the test when it was accepted. */
async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: unknown; status?: unknown; message?: string; cause?: unknown };
    return { code: e.code, status: e.status, message: String(e.message), cause: e.cause, isRampart: err instanceof RampartError };
  }
  throw new Error("the token was accepted");
}

/** The one generic refusal; `cause` says whether jose's reason is attached (refused by jose) or not (refused by our own checks). */
function expectInvalid(f: Failure, cause: "none" | (new (...args: never[]) => Error)): void {
  expect(f).toMatchObject({ code: "UNAUTHENTICATED", status: 401, message: INVALID, isRampart: true });
  if (cause === "none") expect(f.cause).toBeUndefined();
  else expect(f.cause).toBeInstanceOf(cause);
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");

describe("AccessTokenVerifier", () => {
  let ours: { publicKey: CryptoKey; privateKey: CryptoKey };
  let foreign: { publicKey: CryptoKey; privateKey: CryptoKey };
  let ring: TestRing;
  let clock: ManualClock;
  let verifier: AccessTokenVerifier;

  beforeAll(async () => {
    ours = await generateKeyPair("EdDSA");
    foreign = await generateKeyPair("EdDSA");
  });

  beforeEach(() => {
    // Not on a whole second: the time claims are whole seconds, the clock is not.
    clock = new ManualClock(Date.UTC(2026, 0, 1) + 400);
    ring = new TestRing();
    ring.keys[KID] = ours.publicKey;
    verifier = new AccessTokenVerifier({ ring, clock, settings: SETTINGS, cacheSize: 100 });
  });

  const nowS = (): number => Math.floor(clock.now() / 1000);
  const claims = (overrides: Record<string, unknown> = {}): JWTPayload => ({ iss: ISSUER, aud: AUDIENCE, sub: "user-1", sid: "session-1", roles: ["user"], iat: nowS(), exp: nowS() + TTL, jti: "jti-1", ...overrides });
  const sign = (payload: JWTPayload, header: Record<string, unknown> = {}, key: CryptoKey = ours.privateKey): Promise<string> =>
    new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: KID, ...header }).sign(key);
  /** Without a claim (SignJWT takes the payload as given). */
  const without = (name: string): JWTPayload => {
    const c = claims();
    delete c[name];
    return c;
  };

  describe("a valid token", () => {
    it("gives exactly the claims of the token, with our audience and the kid, frozen", async () => {
      const iat = nowS();
      const token = await sign(claims({ roles: ["user", "admin"], scope: "read write", nbf: iat, extra: "not copied" }));
      const c = await verifier.verify(token);
      expect(c).toEqual({ iss: ISSUER, aud: AUDIENCE, sub: "user-1", sid: "session-1", roles: ["user", "admin"], scopes: ["read", "write"], iat, exp: iat + TTL, jti: "jti-1", kid: KID });
      expect(Object.isFrozen(c)).toBe(true);
      expect(Object.isFrozen(c.roles)).toBe(true);
      expect(Object.isFrozen(c.scopes)).toBe(true);
    });

    it("takes our audience out of an audience array", async () => {
      const c = await verifier.verify(await sign(claims({ aud: ["other-api", AUDIENCE] })));
      expect(c.aud).toBe(AUDIENCE);
      expect((await verifier.verify(await sign(claims({ aud: [AUDIENCE], jti: "one" })))).aud).toBe(AUDIENCE);
    });

    it("splits scope on spaces, dropping the empty pieces of repeated, leading and trailing spaces", async () => {
      const scopes = async (scope: unknown, jti: string) => (await verifier.verify(await sign(claims(scope === undefined ? { jti } : { scope, jti })))).scopes;
      expect(await scopes("  read   write  admin ", "a")).toEqual(["read", "write", "admin"]);
      expect(await scopes("read", "b")).toEqual(["read"]);
      expect(await scopes("", "c")).toEqual([]);
      expect(await scopes("   ", "d")).toEqual([]);
      expect(await scopes(undefined, "e")).toEqual([]);
    });

    it("accepts an empty roles array and copies roles", async () => {
      expect((await verifier.verify(await sign(claims({ roles: [] })))).roles).toEqual([]);
    });

    it("accepts the media-type form of typ (RFC 9068 §4)", async () => {
      expect((await verifier.verify(await sign(claims(), { typ: "application/at+jwt" }))).kid).toBe(KID);
    });

    it("asks the ring for the key at the clock's time, and verifyUncached at the time it is given", async () => {
      const token = await sign(claims());
      await verifier.verify(token);
      expect(ring.asked).toEqual([clock.now()]);
      await verifier.verifyUncached(token, clock.now() + 5);
      expect(ring.asked).toEqual([clock.now(), clock.now() + 5]);
      clock.advance(7);
      await verifier.verifyUncached(token);
      expect(ring.asked.at(-1)).toBe(clock.now());
    });
  });

  describe("the algorithm is pinned to EdDSA", () => {
    it("refuses HS256 keyed with the bytes of our public key (algorithm confusion)", async () => {
      const x = Buffer.from((await exportJWK(ours.publicKey)).x!, "base64url");
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: KID }).sign(new Uint8Array(x));
      expectInvalid(await failure(verifier.verify(token)), errors.JOSEAlgNotAllowed);
    });

    it("refuses ES256, even with our kid", async () => {
      const ec = await generateKeyPair("ES256");
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: KID }).sign(ec.privateKey);
      expectInvalid(await failure(verifier.verify(token)), errors.JOSEAlgNotAllowed);
    });

    it("refuses alg none (an unsecured JWS)", async () => {
      for (const header of [{ alg: "none", typ: "at+jwt", kid: KID }, { alg: "none" }]) {
        expectInvalid(await failure(verifier.verify(`${b64(header)}.${b64(claims())}.`)), errors.JOSEAlgNotAllowed);
      }
    });

    it("refuses the fully specified Ed25519 identifier too, though signed by our key", async () => {
      expectInvalid(await failure(verifier.verify(await sign(claims(), { alg: "Ed25519" }))), errors.JOSEAlgNotAllowed);
    });

    it("refuses a token signed by a foreign Ed25519 key under our kid", async () => {
      expectInvalid(await failure(verifier.verify(await sign(claims(), {}, foreign.privateKey))), errors.JWSSignatureVerificationFailed);
    });
  });

  describe("the key comes from our ring only", () => {
    it("refuses an unknown, missing or non-string kid without attaching any library error", async () => {
      expectInvalid(await failure(verifier.verify(await sign(claims(), { kid: "other-key" }))), "none");
      const noKid = await new SignJWT(claims()).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt" }).sign(ours.privateKey);
      expectInvalid(await failure(verifier.verify(noKid)), "none");
      // A ring that turns 42 into "42" would find this key: the verifier itself refuses the number.
      ring.keys["42"] = ours.publicKey;
      expectInvalid(await failure(verifier.verify(await sign(claims(), { kid: 42 }))), "none");
      expect((await verifier.verify(await sign(claims(), { kid: "42" }))).kid).toBe("42");
    });

    it("answers a failing ring with the one UNAUTHENTICATED, keeping the ring's error as cause", async () => {
      for (const thrown of [new RampartError("SERVICE_UNAVAILABLE"), new Error("ring broken")]) {
        const broken = {
          verificationKey: (): never => {
            throw thrown;
          },
          trusts: () => true,
        };
        const v = new AccessTokenVerifier({ ring: broken, clock, settings: SETTINGS, cacheSize: 0 });
        const f = await failure(v.verify(await sign(claims())));
        expectInvalid(f, Error);
        expect(f.cause).toBe(thrown);
      }
    });

    it("refuses a token of a key the ring no longer publishes", async () => {
      ring.until[KID] = clock.now() + 1;
      const token = await sign(claims());
      expect((await verifier.verifyUncached(token)).kid).toBe(KID);
      clock.advance(1);
      expectInvalid(await failure(verifier.verifyUncached(token)), "none");
    });
  });

  describe("typ, iss and aud", () => {
    it("refuses any typ but at+jwt, and none", async () => {
      for (const typ of ["JWT", "jwt", "id_token+jwt", "application/jwt", "at+jwt2", undefined]) {
        expectInvalid(await failure(verifier.verify(await sign(claims(), { typ }))), errors.JWTClaimValidationFailed);
      }
    });

    it("refuses a missing, other or non-string issuer", async () => {
      for (const c of [without("iss"), claims({ iss: "https://evil.example" }), claims({ iss: `${ISSUER}/` }), claims({ iss: [ISSUER] })]) {
        expectInvalid(await failure(verifier.verify(await sign(c))), errors.JWTClaimValidationFailed);
      }
    });

    it("refuses a missing audience, another one, or an array without ours", async () => {
      for (const c of [without("aud"), claims({ aud: "other-api" }), claims({ aud: ["other-api", "third"] }), claims({ aud: [] }), claims({ aud: `${AUDIENCE} ` })]) {
        expectInvalid(await failure(verifier.verify(await sign(c))), errors.JWTClaimValidationFailed);
      }
    });
  });

  describe("time claims at the edges of the skew", () => {
    it("exp: valid until exp + skew, then TOKEN_EXPIRED with jose's reason as cause", async () => {
      const exp = nowS() + 10;
      const token = await sign(claims({ exp }));
      // Expired when exp <= now - skew (RFC 7519 §4.1.4 with the skew), now in whole seconds.
      clock.set((exp + SKEW) * 1000 - 1);
      expect((await verifier.verifyUncached(token)).exp).toBe(exp);
      clock.set((exp + SKEW) * 1000);
      const f = await failure(verifier.verifyUncached(token));
      expect(f).toMatchObject({ code: "TOKEN_EXPIRED", status: 401, message: "The token has expired.", isRampart: true });
      expect(f.cause).toBeInstanceOf(errors.JWTExpired);
    });

    it("nbf: accepted up to now + skew, refused beyond", async () => {
      expect((await verifier.verify(await sign(claims({ nbf: nowS() + SKEW, jti: "edge" })))).jti).toBe("edge");
      expectInvalid(await failure(verifier.verify(await sign(claims({ nbf: nowS() + SKEW + 1 })))), errors.JWTClaimValidationFailed);
    });

    it("iat: accepted up to now + skew in the future, refused beyond", async () => {
      expect((await verifier.verify(await sign(claims({ iat: nowS() + SKEW, exp: nowS() + TTL, jti: "edge" })))).jti).toBe("edge");
      expectInvalid(await failure(verifier.verify(await sign(claims({ iat: nowS() + SKEW + 1, exp: nowS() + TTL })))), errors.JWTClaimValidationFailed);
    });

    it("iat: older than the lifetime plus skew is TOKEN_EXPIRED, even with a later exp", async () => {
      const oldest = nowS() - TTL - SKEW;
      expect((await verifier.verify(await sign(claims({ iat: oldest, exp: nowS() + 86_400, jti: "edge" })))).iat).toBe(oldest);
      const f = await failure(verifier.verify(await sign(claims({ iat: oldest - 1, exp: nowS() + 86_400 }))));
      expect(f).toMatchObject({ code: "TOKEN_EXPIRED", status: 401 });
      expect(f.cause).toBeInstanceOf(errors.JWTExpired);
    });

    it("only an authentic token is reported expired: a forged expired one is UNAUTHENTICATED, same message as the others", async () => {
      const expired = claims({ iat: nowS() - 2000, exp: nowS() - 1000 });
      expect((await failure(verifier.verify(await sign(expired)))).code).toBe("TOKEN_EXPIRED");
      const forged = await failure(verifier.verify(await sign(expired, {}, foreign.privateKey)));
      expectInvalid(forged, errors.JWSSignatureVerificationFailed);
      const unknownKid = await failure(verifier.verify(await sign(expired, { kid: "nope" })));
      expectInvalid(unknownKid, "none");
    });
  });

  describe("length bound", () => {
    /** A valid token of exactly `length` characters, padded with an extra claim and header parameter. */
    async function tokenOfLength(length: number): Promise<string> {
      const b64Length = (json: string): number => Math.ceil((Buffer.byteLength(json) * 4) / 3);
      for (let h = 0; h < 4; h++) {
        const header = { alg: "EdDSA", typ: "at+jwt", kid: KID, p: "h".repeat(h) };
        const base = claims({ pad: "" });
        const fixed = b64Length(JSON.stringify(header)) + 2 + 86; // two dots and an Ed25519 signature
        for (let n = 0; n < length; n++) {
          const payload = { ...base, pad: "p".repeat(n) };
          const total = fixed + b64Length(JSON.stringify(payload));
          if (total > length) break;
          if (total === length) return new SignJWT(payload).setProtectedHeader(header).sign(ours.privateKey);
        }
      }
      throw new Error(`no padding gives ${length} characters`);
    }

    it("accepts a valid token of exactly MAX_TOKEN_LENGTH characters and refuses one of one more, before parsing", async () => {
      const max = await tokenOfLength(MAX_TOKEN_LENGTH);
      expect(max).toHaveLength(MAX_TOKEN_LENGTH);
      expect((await verifier.verify(max)).sub).toBe("user-1");
      const over = await tokenOfLength(MAX_TOKEN_LENGTH + 1);
      expect(over).toHaveLength(MAX_TOKEN_LENGTH + 1);
      ring.lookups = 0;
      expectInvalid(await failure(verifier.verify(over)), "none");
      expect(ring.lookups).toBe(0); // refused before parsing: the key was never looked up
      // The same token is authentic (verifyUncached has no bound of its own): only its length refused it.
      expect((await verifier.verifyUncached(over)).sub).toBe("user-1");
    });

    it("refuses the empty string and a non-string before parsing", async () => {
      expectInvalid(await failure(verifier.verify("")), "none");
      for (const junk of [undefined, null, 42, ["a.b.c"]]) expectInvalid(await failure(verifier.verify(junk as unknown as string)), "none");
    });

    it("refuses junk with jose's reason attached and the same message", async () => {
      for (const junk of ["a", "a.b", "a.b.c", "...", "e30.e30.", "Bearer x.y.z"]) expectInvalid(await failure(verifier.verify(junk)), errors.JOSEError);
    });
  });

  describe("claim types", () => {
    it("refuses a token missing sub, sid, jti, iat or exp (required claims, refused by jose)", async () => {
      for (const name of ["sub", "sid", "jti", "iat", "exp"]) {
        const f = await failure(verifier.verify(await sign(without(name))));
        expectInvalid(f, errors.JWTClaimValidationFailed);
        expect((f.cause as { claim?: string }).claim, name).toBe(name);
      }
    });

    it("refuses sub, sid or jti that are not strings (our own check)", async () => {
      for (const bad of [{ sub: 42 }, { sid: 7 }, { jti: 1 }, { sub: null }, { sid: ["s"] }, { jti: { a: 1 } }]) {
        expectInvalid(await failure(verifier.verify(await sign(claims(bad)))), "none");
      }
    });

    it("refuses roles that are missing or not an array of strings", async () => {
      for (const roles of ["admin", ["user", 1], [1], [null], { 0: "admin" }, null]) {
        expectInvalid(await failure(verifier.verify(await sign(claims({ roles })))), "none");
      }
      expectInvalid(await failure(verifier.verify(await sign(without("roles")))), "none");
    });

    it("refuses a scope that is not a string", async () => {
      for (const scope of [["read"], 1, null, { read: true }]) expectInvalid(await failure(verifier.verify(await sign(claims({ scope })))), "none");
    });

    it("refuses non-numeric iat and exp (refused by jose)", async () => {
      for (const bad of [{ iat: String(nowS()) }, { exp: String(nowS() + TTL) }]) {
        expectInvalid(await failure(verifier.verify(await sign(claims(bad)))), errors.JWTClaimValidationFailed);
      }
    });
  });

  describe("the verified-token cache", () => {
    it("verifies a token once, then serves the same claims from the cache", async () => {
      const token = await sign(claims());
      const first = await verifier.verify(token);
      expect(verifier.cacheEntries).toBe(1);
      expect(await verifier.verify(token)).toBe(first);
      expect(ring.lookups).toBe(1);
      // Another token (one character of the signature changed) is not served from that entry.
      const other = token.slice(0, -2) + (token.at(-2) === "A" ? "B" : "A") + token.at(-1)!;
      expectInvalid(await failure(verifier.verify(other)), errors.JWSSignatureVerificationFailed);
      expect(ring.lookups).toBe(2);
    });

    it("with cacheSize 0 verifies every time and keeps nothing", async () => {
      const v = new AccessTokenVerifier({ ring, clock, settings: SETTINGS, cacheSize: 0 });
      const token = await sign(claims());
      await v.verify(token);
      await v.verify(token);
      expect(ring.lookups).toBe(2);
      expect(v.cacheEntries).toBe(0);
    });

    it("does not cache a refused token", async () => {
      await failure(verifier.verify(await sign(claims({ sub: 1 }))));
      expect(verifier.cacheEntries).toBe(0);
    });

    it("serves a cached token until exp + skew, exactly when full verification stops accepting it, then TOKEN_EXPIRED", async () => {
      const exp = nowS() + 60;
      const token = await sign(claims({ exp }));
      await verifier.verify(token);
      clock.set((exp + SKEW) * 1000 - 1);
      expect((await verifier.verify(token)).exp).toBe(exp);
      expect(ring.lookups).toBe(1); // still from the cache
      clock.set((exp + SKEW) * 1000);
      expect((await failure(verifier.verify(token))).code).toBe("TOKEN_EXPIRED");
      expect(verifier.cacheEntries).toBe(0);
    });

    it("refuses a cached token once its key is no longer trusted", async () => {
      const token = await sign(claims());
      await verifier.verify(token);
      ring.until[KID] = clock.now() + 1000;
      clock.advance(999);
      expect((await verifier.verify(token)).kid).toBe(KID);
      expect(ring.lookups).toBe(1);
      clock.advance(1);
      expectInvalid(await failure(verifier.verify(token)), "none");
    });

    it("refuses the cache size a VerifiedTokenCache refuses", () => {
      expect(() => new AccessTokenVerifier({ ring, clock, settings: SETTINGS, cacheSize: -1 })).toThrow("maxEntries must be an integer >= 0, instead got -1");
    });
  });

  it("invalidTokenError: one code and message, the cause only when given", () => {
    const bare = invalidTokenError();
    expect(bare).toMatchObject({ code: "UNAUTHENTICATED", status: 401, message: INVALID, ownMessage: true });
    expect("cause" in bare).toBe(false);
    const reason = new Error("why");
    expect(invalidTokenError(reason).cause).toBe(reason);
  });
});
