/**
 * Threat: forged or replayed access tokens. An attacker who can send any
 * bearer string tries to be accepted through JWT weaknesses: `alg: none`
 * (RFC 8725 §2.1), algorithm confusion (HS256 keyed with our public key,
 * RFC 8725 §2.1/§3.1), a token signed by the attacker's own Ed25519 key under
 * our kid or an unknown kid, key-carrying headers (`jku`, `jwk`, `x5u`,
 * RFC 8725 §3.10 / RFC 7515 §4.1.2-5), and our own signature on claims we
 * would never issue (expired, other audience, issuer or `typ`, `nbf` in the
 * future), or a tampered payload. Each must be refused with the right code,
 * and nothing may be fetched on the token's say-so.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64, ed25519Signer, forge, hmacSigner, ourPrivateKey, tokenStores, validClaims, type TokenFixture, type TokenStores } from "./helpers.js";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ACCEPTED";
  } catch (err) {
    return (err as { code?: string }).code ?? `THREW ${(err as Error).message}`;
  }
}

describe("access token verification under attack", () => {
  let stores: TokenStores;
  let f: TokenFixture;
  let kid: string;
  let jwksHits = 0;
  let jwksServer: Server;
  let evilUrl: string;
  const attacker = generateKeyPairSync("ed25519");
  const header = (extra: Record<string, unknown> = {}) => ({ alg: "EdDSA", typ: "at+jwt", kid, ...extra });
  const ours = async (h: Record<string, unknown>, p: Record<string, unknown>) => forge(h, p, ed25519Signer(await ourPrivateKey(f, kid)));

  beforeAll(async () => {
    stores = await tokenStores("embedded");
    f = await stores.fixture();
    kid = f.tokens.currentKid()!;
    // A server the attacker's headers point at: it must never be contacted.
    jwksServer = createServer((_req, res) => {
      jwksHits++;
      res.setHeader("content-type", "application/json").end(JSON.stringify({ keys: [{ ...attacker.publicKey.export({ format: "jwk" }), kid, alg: "EdDSA", use: "sig" }] }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, "127.0.0.1", r));
    evilUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(async () => {
    await new Promise((r) => jwksServer.close(r));
    await f.close();
    await stores.close();
  });

  it("accepts a token signed by our key with our claims (control)", async () => {
    const claims = await f.tokens.verify(await ours(header(), validClaims(f)));
    expect(claims).toMatchObject({ sub: "user-1", sid: "session-1", kid });
  });

  it("refuses alg none (unsecured JWS, RFC 7515 §A.5)", async () => {
    const unsigned = `${b64({ alg: "none", typ: "at+jwt", kid })}.${b64(validClaims(f))}.`;
    expect(await codeOf(f.tokens.verify(unsigned))).toBe("UNAUTHENTICATED");
    expect(await codeOf(f.tokens.verify(`${b64({ alg: "none" })}.${b64(validClaims(f))}.`))).toBe("UNAUTHENTICATED");
  });

  it("refuses HS256 keyed with our public key (algorithm confusion)", async () => {
    const jwk = f.tokens.jwks().keys.find((k) => k.kid === kid)!;
    for (const secret of [Buffer.from(jwk.x, "base64url"), jwk.x, JSON.stringify(jwk)]) {
      const token = forge({ alg: "HS256", typ: "at+jwt", kid }, validClaims(f), hmacSigner(secret));
      expect(await codeOf(f.tokens.verify(token))).toBe("UNAUTHENTICATED");
    }
  });

  it("refuses a token signed by a foreign Ed25519 key carrying our kid", async () => {
    const token = forge(header(), validClaims(f), ed25519Signer(attacker.privateKey));
    expect(await codeOf(f.tokens.verify(token))).toBe("UNAUTHENTICATED");
  });

  it("refuses unknown, missing and non-string kids without fetching anything", async () => {
    for (const h of [header({ kid: "attacker-key" }), { alg: "EdDSA", typ: "at+jwt" }, header({ kid: 42 }), header({ kid: "__proto__" })]) {
      expect(await codeOf(f.tokens.verify(forge(h, validClaims(f), ed25519Signer(attacker.privateKey))))).toBe("UNAUTHENTICATED");
    }
  });

  it("ignores jku, jwk and x5u: an attacker key named there is never used or fetched", async () => {
    const attackerJwk = { ...attacker.publicKey.export({ format: "jwk" }), kid };
    const evil = { jku: evilUrl, x5u: evilUrl, jwk: attackerJwk };
    for (const h of [header(evil), header({ ...evil, kid: "attacker-key" }), { alg: "EdDSA", typ: "at+jwt", jwk: attackerJwk }]) {
      expect(await codeOf(f.tokens.verify(forge(h, validClaims(f), ed25519Signer(attacker.privateKey))))).toBe("UNAUTHENTICATED");
    }
    // The same headers on a token that OUR key signed change nothing: it verifies against our key set only.
    expect((await f.tokens.verify(await ours(header(evil), validClaims(f, { jti: "with-evil-headers" })))).kid).toBe(kid);
    expect(jwksHits).toBe(0);
  });

  it("reports an expired token as TOKEN_EXPIRED, within the skew as valid", async () => {
    const issued = await f.tokens.issue({ sub: "user-1", sid: "s-exp", roles: [] });
    f.clock.advance((900 + 30) * 1000 - 1000);
    expect((await f.tokens.verify(issued.token)).sid).toBe("s-exp");
    f.clock.advance(1000);
    expect(await codeOf(f.tokens.verify(issued.token))).toBe("TOKEN_EXPIRED");
    // A fresh, uncached token that is expired: same code.
    const old = validClaims(f, { iat: Math.floor(f.clock.now() / 1000) - 2000, exp: Math.floor(f.clock.now() / 1000) - 1000 });
    expect(await codeOf(f.tokens.verify(await ours(header(), old)))).toBe("TOKEN_EXPIRED");
  });

  it("refuses wrong audience, issuer and typ", async () => {
    for (const claims of [validClaims(f, { aud: "other-api" }), validClaims(f, { aud: ["other-api"] }), validClaims(f, { iss: "https://evil.example" })]) {
      expect(await codeOf(f.tokens.verify(await ours(header(), claims)))).toBe("UNAUTHENTICATED");
    }
    for (const typ of ["JWT", "id_token+jwt", "application/jwt", undefined]) {
      expect(await codeOf(f.tokens.verify(await ours(header({ typ }), validClaims(f))))).toBe("UNAUTHENTICATED");
    }
    // RFC 9068 §4: the full media type form is the same type.
    expect((await f.tokens.verify(await ours(header({ typ: "application/at+jwt" }), validClaims(f, { jti: "media-type" })))).jti).toBe("media-type");
  });

  it("refuses nbf and iat in the future (beyond the skew)", async () => {
    const now = Math.floor(f.clock.now() / 1000);
    expect(await codeOf(f.tokens.verify(await ours(header(), validClaims(f, { nbf: now + 120 }))))).toBe("UNAUTHENTICATED");
    expect(await codeOf(f.tokens.verify(await ours(header(), validClaims(f, { iat: now + 120, exp: now + 1000 }))))).toBe("UNAUTHENTICATED");
    expect((await f.tokens.verify(await ours(header(), validClaims(f, { nbf: now + 20, jti: "nbf-in-skew" })))).jti).toBe("nbf-in-skew");
  });

  it("refuses a token whose lifetime exceeds ours", async () => {
    const now = Math.floor(f.clock.now() / 1000);
    expect(await codeOf(f.tokens.verify(await ours(header(), validClaims(f, { iat: now - 1000, exp: now + 86_400 }))))).toBe("TOKEN_EXPIRED");
  });

  it("refuses tokens missing sid, sub, jti or with malformed roles", async () => {
    for (const drop of ["sid", "sub", "jti", "iat", "exp", "iss", "aud"]) {
      const claims = validClaims(f);
      delete claims[drop];
      expect(await codeOf(f.tokens.verify(await ours(header(), claims))), drop).toBe("UNAUTHENTICATED");
    }
    for (const bad of [{ roles: "admin" }, { roles: [1] }, { sid: 7 }, { scope: ["a"] }]) {
      expect(await codeOf(f.tokens.verify(await ours(header(), validClaims(f, bad))))).toBe("UNAUTHENTICATED");
    }
  });

  it("refuses unknown critical headers (RFC 7515 §4.1.11)", async () => {
    expect(await codeOf(f.tokens.verify(await ours(header({ crit: ["exp-policy"], "exp-policy": 1 }), validClaims(f))))).toBe("UNAUTHENTICATED");
  });

  it("refuses a tampered payload (roles raised to admin)", async () => {
    const { token } = await f.tokens.issue({ sub: "user-1", sid: "s-tamper", roles: ["user"] });
    const [h, p, s] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
    const tampered = `${h}.${b64({ ...claims, roles: ["admin"] })}.${s}`;
    expect(await codeOf(f.tokens.verify(tampered))).toBe("UNAUTHENTICATED");
    expect((await f.tokens.verify(token)).roles).toEqual(["user"]);
  });

  it("refuses malformed and oversized input with one generic message", async () => {
    const messages = new Set<string>();
    for (const junk of ["", "a", "a.b", "a.b.c", "...", "e30.e30.", `${"a".repeat(9000)}.b.c`, "Bearer x.y.z"]) {
      const err = await f.tokens.verify(junk).catch((e: unknown) => e as { code: string; message: string });
      expect((err as { code: string }).code).toBe("UNAUTHENTICATED");
      messages.add((err as { message: string }).message);
    }
    messages.add(await f.tokens.verify(forge(header(), validClaims(f), ed25519Signer(attacker.privateKey))).then(() => "accepted", (e: Error) => e.message));
    expect(messages.size).toBe(1);
  });

  it("property: changing any character of a valid token (bar base64 padding bits) never verifies", async () => {
    const { token } = await f.tokens.issue({ sub: "user-1", sid: "s-prop", roles: ["user"], scope: ["read"] });
    const segments = token.split(".");
    // The last character of a segment carries unused bits; flipping only those decodes to the same bytes.
    const mutable = [...token].map((_c, i) => i).filter((i) => token[i] !== "." && token[i + 1] !== "." && i !== token.length - 1);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...mutable), fc.constantFrom(...alphabet), async (i, c) => {
        fc.pre(token[i] !== c);
        const mutated = token.slice(0, i) + c + token.slice(i + 1);
        expect(await codeOf(f.tokens.verify(mutated))).toBe("UNAUTHENTICATED");
      }),
      { numRuns: 300 },
    );
    expect(segments).toHaveLength(3);
  });
});
