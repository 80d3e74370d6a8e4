/**
 * Issues access tokens: JWTs (RFC 7519) in the RFC 9068 profile, signed with
 * Ed25519 (`alg: EdDSA`, RFC 8037 §3.1) by the instance's current signing key.
 *
 * The JWS compact serialization (RFC 7515 §7.1) is assembled here and signed
 * with node:crypto's synchronous `sign` rather than jose's SignJWT: jose signs
 * through WebCrypto, whose Ed25519 job runs on the libuv thread pool, so a
 * token waits behind whatever occupies the pool (bench/auth/tokens.bench.ts:
 * 0.15 ms per token idle, 13 ms while argon2 hashes run on the pool, against
 * 0.07 ms either way here). Verification stays with
 * jose (verifier.ts), and test/auth/tokens checks that jose verifies what is
 * signed here.
 */
import { randomBytes, sign } from "node:crypto";
import type { SigningKey } from "./key-ring.js";
import type { AccessTokenSettings, IssueAccessTokenInput, IssuedAccessToken } from "./types.js";

/** The `typ` header of access tokens (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYP = "at+jwt";

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token

function assertInput(input: IssueAccessTokenInput): void {
  if (typeof input.sub !== "string" || input.sub.length === 0) throw new TypeError(`sub must be a non-empty string, instead got '${String(input.sub)}'`);
  if (typeof input.sid !== "string" || input.sid.length === 0) throw new TypeError(`sid must be a non-empty string, instead got '${String(input.sid)}'`);
  if (!Array.isArray(input.roles) || input.roles.some((r) => typeof r !== "string")) throw new TypeError("roles must be an array of strings");
  for (const s of input.scope ?? []) if (!SCOPE_TOKEN.test(s)) throw new TypeError(`scope entries must be RFC 6749 scope tokens, instead got '${s}'`);
}

/** Signs an access token for a session at `now` (epoch ms). */
export async function issueAccessToken(key: SigningKey, settings: AccessTokenSettings, input: IssueAccessTokenInput, now: number): Promise<IssuedAccessToken> {
  assertInput(input);
  const iat = Math.floor(now / 1000);
  const exp = iat + settings.ttlSeconds;
  const jti = randomBytes(16).toString("base64url");
  // RFC 9068 §2.2: iss, exp, aud, sub, iat, jti; `sid` names the session (OpenID Connect
  // Front-Channel Logout §3), `roles` as in RFC 9068 §2.2.3.1. No `client_id`: tokens are first-party.
  const claims: Record<string, unknown> = { sid: input.sid, roles: [...input.roles] };
  if (input.scope && input.scope.length > 0) claims.scope = input.scope.join(" ");
  const payload = { ...claims, iss: settings.issuer, aud: settings.audience, sub: input.sub, iat, exp, jti };
  const header = { alg: "EdDSA", typ: ACCESS_TOKEN_TYP, kid: key.kid };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  // Ed25519 takes no digest algorithm (null): the signature is over the signing input itself (RFC 8037 §3.1).
  const signature = sign(null, Buffer.from(signingInput, "ascii"), key.privateKey).toString("base64url");
  return { token: `${signingInput}.${signature}`, expiresIn: settings.ttlSeconds, expiresAt: exp * 1000, jti, kid: key.kid };
}

const b64url = (json: string): string => Buffer.from(json, "utf8").toString("base64url");
