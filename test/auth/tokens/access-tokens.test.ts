/**
 * Issuing and verifying on one instance: the claims of an issued token, the
 * bounded cache of verified tokens (a hot token is verified once; expiry,
 * revocation and key removal still apply to cached tokens) and the LRU bound.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerifiedTokenCache } from "../../../src/auth/tokens/token-cache.js";
import { RevocationList } from "../../../src/auth/revocation/index.js";
import type { AccessTokenClaims } from "../../../src/auth/tokens/index.js";
import { tokenStores, type TokenStores } from "./helpers.js";

const claims = (jti: string): AccessTokenClaims => ({ iss: "i", aud: "a", sub: "s", sid: "x", roles: [], scopes: [], iat: 0, exp: 1, jti, kid: "k" });

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "ACCEPTED",
    (err: { code?: string }) => err.code ?? "THREW",
  );
}

describe("VerifiedTokenCache", () => {
  it("keeps at most maxEntries, evicting the least recently used", () => {
    const c = new VerifiedTokenCache(2);
    c.set("a", claims("a"), 1000);
    c.set("b", claims("b"), 1000);
    expect(c.get("a", 0)?.jti).toBe("a"); // a is now the most recent
    c.set("c", claims("c"), 1000);
    expect(c.size).toBe(2);
    expect(c.get("b", 0)).toBeUndefined();
    expect(c.get("a", 0)?.jti).toBe("a");
    expect(c.get("c", 0)?.jti).toBe("c");
  });

  it("does not serve an entry at or after its end", () => {
    const c = new VerifiedTokenCache(10);
    c.set("a", claims("a"), 1000);
    expect(c.get("a", 999)).toBeDefined();
    expect(c.get("a", 1000)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it("keys by a hash of the whole token", () => {
    expect(VerifiedTokenCache.keyOf("a.b.c")).toMatch(/^[\w-]{43}$/);
    expect(VerifiedTokenCache.keyOf("a.b.c")).not.toBe(VerifiedTokenCache.keyOf("a.b.d"));
  });

  it("with size 0 caches nothing", () => {
    const c = new VerifiedTokenCache(0);
    c.set("a", claims("a"), 1000);
    expect(c.get("a", 0)).toBeUndefined();
  });

  it("refuses a size that is not a whole number >= 0, naming what it got", () => {
    for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new VerifiedTokenCache(n)).toThrow(RangeError);
    expect(() => new VerifiedTokenCache(-1)).toThrow("instead got -1");
    expect(new VerifiedTokenCache(1).size).toBe(0);
  });

  it("setting a cached key again replaces its claims and makes it the most recent", () => {
    const c = new VerifiedTokenCache(2);
    c.set("a", claims("a1"), 1000);
    c.set("b", claims("b"), 1000);
    c.set("a", claims("a2"), 2000);
    c.set("c", claims("c"), 1000);
    expect(c.get("b", 0)).toBeUndefined();
    expect(c.get("a", 1500)?.jti).toBe("a2");
  });

  it("an expired entry is dropped when read, making room without evicting a live one", () => {
    const c = new VerifiedTokenCache(2);
    c.set("a", claims("a"), 1000);
    c.set("b", claims("b"), 5000);
    expect(c.get("a", 1000)).toBeUndefined();
    c.set("c", claims("c"), 5000);
    expect(c.get("b", 0)?.jti).toBe("b");
    expect(c.size).toBe(2);
  });

  it("delete drops one entry, clear drops them all", () => {
    const c = new VerifiedTokenCache(10);
    for (const k of ["a", "b", "c"]) c.set(k, claims(k), 1000);
    c.delete("b");
    expect(c.get("b", 0)).toBeUndefined();
    expect(c.size).toBe(2);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.get("a", 0)).toBeUndefined();
  });
});

describe("access tokens on one instance", () => {
  let stores: TokenStores;
  beforeAll(async () => {
    stores = await tokenStores("embedded");
  });
  afterAll(async () => stores.close());

  it("issues RFC 9068 tokens with our claims and a 15-minute lifetime", async () => {
    const f = await stores.fixture();
    const issued = await f.tokens.issue({ sub: "user-1", sid: "sess-1", roles: ["user"], scope: ["profile:read"] });
    expect(issued.expiresIn).toBe(900);
    expect(issued.expiresAt).toBe((Math.floor(f.clock.now() / 1000) + 900) * 1000);
    const [h] = issued.token.split(".");
    expect(JSON.parse(Buffer.from(h!, "base64url").toString())).toEqual({ alg: "EdDSA", typ: "at+jwt", kid: issued.kid });
    const c = await f.tokens.verify(issued.token);
    expect(c).toMatchObject({ iss: "https://id.example.test", aud: "rampart-test", sub: "user-1", sid: "sess-1", roles: ["user"], scopes: ["profile:read"], jti: issued.jti, kid: issued.kid });
    expect(c.exp - c.iat).toBe(900);
    const other = await f.tokens.issue({ sub: "user-1", sid: "sess-1", roles: ["user"] });
    expect(other.jti).not.toBe(issued.jti);
    expect((await f.tokens.verify(other.token)).scopes).toEqual([]);
    await f.close();
  });

  it("jose, an independent JOSE implementation, verifies issued tokens against the published JWKS", async () => {
    const f = await stores.fixture();
    const issued = await f.tokens.issue({ sub: "user-2", sid: "sess-2", roles: ["admin", "user"], scope: ["a:b", "c"] });
    const jwks = createLocalJWKSet(f.tokens.jwks() as unknown as JSONWebKeySet);
    const { payload, protectedHeader } = await jwtVerify(issued.token, jwks, {
      algorithms: ["EdDSA"],
      typ: "at+jwt",
      issuer: "https://id.example.test",
      audience: "rampart-test",
      currentDate: new Date(f.clock.now()),
      requiredClaims: ["iss", "aud", "sub", "iat", "exp", "jti"],
    });
    expect(protectedHeader).toEqual({ alg: "EdDSA", typ: "at+jwt", kid: issued.kid });
    expect(payload).toEqual({ iss: "https://id.example.test", aud: "rampart-test", sub: "user-2", sid: "sess-2", roles: ["admin", "user"], scope: "a:b c", iat: Math.floor(f.clock.now() / 1000), exp: issued.expiresAt / 1000, jti: issued.jti });
    // A changed payload byte fails the same verification.
    const [h, p, sig] = issued.token.split(".");
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, roles: ["admin", "owner"] })).toString("base64url")}.${sig}`;
    expect(p).not.toBe(tampered.split(".")[1]);
    await expect(jwtVerify(tampered, jwks, { algorithms: ["EdDSA"], currentDate: new Date(f.clock.now()) })).rejects.toThrow(/signature/);
    await f.close();
  });

  it("refuses to issue for malformed input", async () => {
    const f = await stores.fixture();
    await expect(f.tokens.issue({ sub: "", sid: "s", roles: [] })).rejects.toThrow(TypeError);
    await expect(f.tokens.issue({ sub: "u", sid: "", roles: [] })).rejects.toThrow(TypeError);
    await expect(f.tokens.issue({ sub: "u", sid: "s", roles: [], scope: ["two words"] })).rejects.toThrow(TypeError);
    // Each refusal names the field and what was received; a value of another type is refused too.
    await expect(f.tokens.issue({ sub: 42 as any, sid: "s", roles: [] })).rejects.toThrow(new TypeError("sub must be a non-empty string, instead got '42'"));
    await expect(f.tokens.issue({ sub: "u", sid: 7 as any, roles: [] })).rejects.toThrow(new TypeError("sid must be a non-empty string, instead got '7'"));
    await expect(f.tokens.issue({ sub: "u", sid: "", roles: [] })).rejects.toThrow("sid must be a non-empty string, instead got ''");
    for (const roles of [["user", 5], "user", undefined]) {
      await expect(f.tokens.issue({ sub: "u", sid: "s", roles: roles as any })).rejects.toThrow(new TypeError("roles must be an array of strings"));
    }
    await expect(f.tokens.issue({ sub: "u", sid: "s", roles: [], scope: ["a", "b\\c"] })).rejects.toThrow("scope entries must be RFC 6749 scope tokens, instead got 'b\\c'");
    await f.close();
  });

  it("a token without scopes carries no scope claim", async () => {
    const f = await stores.fixture();
    for (const scope of [undefined, []]) {
      const issued = await f.tokens.issue({ sub: "u", sid: "s", roles: [], ...(scope ? { scope } : {}) });
      const payload = JSON.parse(Buffer.from(issued.token.split(".")[1]!, "base64url").toString("utf8"));
      expect(Object.keys(payload).sort()).toEqual(["aud", "exp", "iat", "iss", "jti", "roles", "sid", "sub"]);
    }
    await f.close();
  });

  it("verifies a hot token once, and still applies expiry and revocation to it", async () => {
    const base = await stores.fixture();
    await base.close();
    const revocations = await RevocationList.create({ kv: base.runtime.kv, clock: base.clock, log: base.runtime.log, retentionMs: 930_000 });
    const f = await stores.fixture({ revocations });
    const { token } = await f.tokens.issue({ sub: "u", sid: "hot", roles: [] });
    const first = await f.tokens.verify(token);
    expect(await f.tokens.verify(token)).toBe(first); // the cached, frozen claims object
    await revocations.revokeSession("hot");
    expect(await codeOf(f.tokens.verify(token))).toBe("TOKEN_REVOKED");

    const other = await f.tokens.issue({ sub: "u", sid: "warm", roles: [] });
    await f.tokens.verify(other.token);
    f.clock.advance(930_000);
    expect(await codeOf(f.tokens.verify(other.token))).toBe("TOKEN_EXPIRED");
    await revocations.close();
    await f.close();
  });

  it("without a cache verifies every time", async () => {
    const f = await stores.fixture({ cacheSize: 0 });
    const { token } = await f.tokens.issue({ sub: "u", sid: "s", roles: [] });
    const a = await f.tokens.verify(token);
    const b = await f.tokens.verify(token);
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
    await f.close();
  });

  it("opens the sealed private key once, not per token", async () => {
    const f = await stores.fixture();
    const before = f.sealer.opened;
    for (let i = 0; i < 5; i++) await f.tokens.issue({ sub: "u", sid: `s${i}`, roles: [] });
    expect(f.sealer.opened - before).toBeLessThanOrEqual(1);
    await f.close();
  });
});
