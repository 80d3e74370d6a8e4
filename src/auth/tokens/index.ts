/**
 * Public API of access tokens (framework-free; the JWKS route is in plugin.ts):
 * Ed25519-signed RFC 9068 JWTs, rotating signing keys sealed at rest, the JWKS.
 */
export { createAccessTokens, type AccessTokens, type AccessTokensOptions } from "./access-tokens.js";
export { settingsFromConfig, jwksMaxAgeSeconds, retiredWindowMs } from "./settings.js";
export { rotateSigningKey, runRotationCheck, SIGNING_KEYS_CHANNEL, type RotationResult, type RotatorDeps } from "./rotator.js";
export { planRotation, type RotationAction } from "./rotation.js";
export { listSigningKeys, type SigningKeyRecord, type SigningKeyState } from "./key-store.js";
export { sealContext } from "./key-material.js";
export { ACCESS_TOKEN_TYP } from "./issuer.js";
export { MAX_TOKEN_LENGTH, invalidTokenError } from "./verifier.js";
export type { AccessTokenClaims, AccessTokenSettings, IssueAccessTokenInput, IssuedAccessToken, JwkSet, PublicSigningJwk, Sealer } from "./types.js";
