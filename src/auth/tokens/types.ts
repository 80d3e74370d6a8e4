/**
 * Types shared by the access-token modules: the sealing interface the crypto
 * module provides, the claims of an access token (RFC 9068 §2.2 profile of an
 * RFC 7519 JWT) and the public JWK Set document (RFC 7517 §5).
 */

/**
 * Envelope encryption as the token module needs it (src/crypto provides it).
 * `context` is bound to the ciphertext as additional authenticated data:
 * `open` with another context must fail, so a sealed private key copied to
 * another row does not decrypt.
 */
export interface Sealer {
  seal(plaintext: Buffer, context: Record<string, string>): Promise<string>;
  open(sealed: string, context: Record<string, string>): Promise<Buffer>;
}

/** What the caller states when issuing an access token for a session. */
export interface IssueAccessTokenInput {
  /** Subject: the user id (RFC 7519 §4.1.2). */
  readonly sub: string;
  /** Session id the token belongs to; revocation works per session. */
  readonly sid: string;
  /** Role names, carried in the `roles` claim (RFC 9068 §2.2.3.1, RFC 7643 §4.1.2). */
  readonly roles: readonly string[];
  /** Optional OAuth scopes; written as one space-separated `scope` claim (RFC 9068 §2.2.3, RFC 8693 §4.2). */
  readonly scope?: readonly string[];
}

/** A freshly issued access token. */
export interface IssuedAccessToken {
  /** The compact JWS (RFC 7515 §7.1). */
  readonly token: string;
  /** Lifetime in seconds, for the `expiresIn` of a token response. */
  readonly expiresIn: number;
  /** `exp` in epoch milliseconds. */
  readonly expiresAt: number;
  readonly jti: string;
  readonly kid: string;
}

/** The verified claims of an access token. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly sid: string;
  readonly roles: readonly string[];
  /** Scopes from the space-separated `scope` claim; empty when the token has none. */
  readonly scopes: readonly string[];
  /** Seconds since the epoch (RFC 7519 §2 NumericDate). */
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  /** Key id of the key that signed it (RFC 7515 §4.1.4). */
  readonly kid: string;
}

/** A public Ed25519 JWK as published (RFC 8037 §2, RFC 7517 §4). */
export interface PublicSigningJwk {
  readonly kty: "OKP";
  readonly crv: "Ed25519";
  readonly x: string;
  readonly kid: string;
  readonly alg: "EdDSA";
  readonly use: "sig";
}

/** A JWK Set document (RFC 7517 §5). */
export interface JwkSet {
  readonly keys: readonly PublicSigningJwk[];
}

/** Settings of issuing, verifying and rotating; see settingsFromConfig. */
export interface AccessTokenSettings {
  /** `iss`: the public base URL. */
  readonly issuer: string;
  /** `aud`. */
  readonly audience: string;
  readonly ttlSeconds: number;
  readonly clockSkewSeconds: number;
  /** Age of the active key after which a successor takes over. */
  readonly rotationMs: number;
  /** How long a new key is published before it signs. */
  readonly publishDelayMs: number;
}
