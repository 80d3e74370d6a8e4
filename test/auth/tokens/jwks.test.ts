/**
 * The JWKS endpoint and interoperability: `GET /.well-known/jwks.json` serves
 * the public keys with a response schema and a cache lifetime shorter than the
 * publish delay, and our access tokens verify against that document with a
 * verifier that is not jose: node:crypto's Ed25519 over the RFC 7515 §5.2
 * signing input, with the key imported by node's own JWK parser.
 */
import { createPublicKey, verify } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessTokens } from "../../../src/auth/tokens/index.js";
import { ManualClock } from "../../../src/runtime/clock.js";
import { createTestApp, type TestApp } from "../../helpers/app.js";
import { testModes } from "../../helpers/modes.js";
import { TOKEN_ENV } from "./helpers.js";

interface Jwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
  alg: string;
  use: string;
}

/** An independent verifier: header and claims checked by hand, the signature by node:crypto. */
function independentVerify(token: string, jwks: { keys: Jwk[] }, expected: { iss: string; aud: string; now: number }): Record<string, unknown> {
  const [h, p, s] = token.split(".");
  if (!h || !p || !s) throw new Error("not a compact JWS");
  const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as Record<string, unknown>;
  if (header.alg !== "EdDSA" || header.typ !== "at+jwt") throw new Error("unexpected header");
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error("kid not in JWKS");
  const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: "jwk" });
  if (!verify(null, Buffer.from(`${h}.${p}`, "ascii"), key, Buffer.from(s, "base64url"))) throw new Error("bad signature");
  const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
  if (claims.iss !== expected.iss || claims.aud !== expected.aud) throw new Error("wrong iss/aud");
  if (typeof claims.exp !== "number" || claims.exp * 1000 <= expected.now) throw new Error("expired");
  return claims;
}

describe.each(testModes())("JWKS endpoint and interop (%s)", (mode) => {
  // The real server: the auth plugin registers the JWKS route over the identity's access tokens.
  const clock = new ManualClock();
  let server: TestApp;
  let app: FastifyInstance;
  let f: { tokens: AccessTokens; clock: ManualClock };

  beforeAll(async () => {
    server = await createTestApp(mode, { env: TOKEN_ENV, clock });
    app = server.app;
    f = { tokens: app.identity.tokens, clock };
  });
  afterAll(async () => server.close());

  const fetchJwks = async () => {
    const res = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
    expect(res.statusCode).toBe(200);
    return { res, body: res.json<{ keys: Jwk[] }>() };
  };

  it("serves the public keys only, as a cacheable JWK Set", async () => {
    const { res, body } = await fetchJwks();
    expect(res.headers["content-type"]).toMatch(/^application\/jwk-set\+json/);
    const maxAge = Number(/max-age=(\d+)/.exec(String(res.headers["cache-control"]))?.[1]);
    expect(res.headers["cache-control"]).toMatch(/^public, max-age=\d+$/);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge * 1000).toBeLessThan(120_000); // the publish delay of the fixture
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toEqual({ kty: "OKP", crv: "Ed25519", x: expect.any(String), kid: f.tokens.currentKid(), alg: "EdDSA", use: "sig" });
    expect(JSON.stringify(body)).not.toMatch(/"d"|private/i);
  });

  it("is in the OpenAPI document with its response schema", async () => {
    const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json<{ paths: Record<string, { get?: { responses?: Record<string, unknown> } }> }>();
    expect(doc.paths["/.well-known/jwks.json"]?.get?.responses?.["200"]).toBeDefined();
  });

  it("our tokens verify against the published JWKS with node:crypto (not jose)", async () => {
    const { token } = await f.tokens.issue({ sub: "user-42", sid: "session-42", roles: ["user", "admin"], scope: ["profile:read", "orders:write"] });
    const claims = independentVerify(token, (await fetchJwks()).body, { iss: "https://id.example.test", aud: "rampart-test", now: f.clock.now() });
    expect(claims).toMatchObject({ sub: "user-42", sid: "session-42", roles: ["user", "admin"], scope: "profile:read orders:write" });
    expect(Object.keys(claims).sort()).toEqual(["aud", "exp", "iat", "iss", "jti", "roles", "scope", "sid", "sub"]);
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    // And the independent verifier is not a pushover: a modified payload fails it.
    const [h, , s] = token.split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: "user-1" })).toString("base64url")}.${s}`;
    expect(() => independentVerify(forged, { keys: f.tokens.jwks().keys as Jwk[] }, { iss: "https://id.example.test", aud: "rampart-test", now: f.clock.now() })).toThrow("bad signature");
  });

  it("tokens after a rotation verify against the JWKS fetched before the new key signs", async () => {
    const before = (await fetchJwks()).body; // a relying party's cached copy
    const { kid } = await f.tokens.rotate();
    expect((await fetchJwks()).body.keys.map((k) => k.kid)).toContain(kid);
    const cached = (await fetchJwks()).body;
    f.clock.advance(120_000);
    const { token, kid: signedBy } = await f.tokens.issue({ sub: "u", sid: "s", roles: [] });
    expect(signedBy).toBe(kid);
    expect(() => independentVerify(token, before, { iss: "https://id.example.test", aud: "rampart-test", now: f.clock.now() })).toThrow("kid not in JWKS");
    expect(independentVerify(token, cached, { iss: "https://id.example.test", aud: "rampart-test", now: f.clock.now() }).sub).toBe("u");
  });
});
