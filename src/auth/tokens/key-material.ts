/**
 * Ed25519 signing key material: generation, the sealing context that binds a
 * private key to its row, and conversion into the key objects jose uses.
 * Public keys are published as OKP JWKs (RFC 8037 §2); private keys leave this
 * module only sealed.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { importJWK, type CryptoKey } from "jose";
import type { PublicSigningJwk, Sealer } from "./types.js";

/** A key pair as generated, before it is stored. */
export interface GeneratedSigningKey {
  readonly kid: string;
  readonly publicJwk: PublicSigningJwk;
  /** PKCS #8 DER; seal it, never store it as is. */
  readonly privatePkcs8: Buffer;
}

/** Generates an Ed25519 key pair with a random 128-bit `kid`. */
export function generateSigningKey(): GeneratedSigningKey {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const kid = randomBytes(16).toString("base64url");
  const jwk = publicKey.export({ format: "jwk" });
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") throw new Error("unexpected Ed25519 public JWK");
  return {
    kid,
    publicJwk: Object.freeze({ kty: "OKP", crv: "Ed25519", x: jwk.x, kid, alg: "EdDSA", use: "sig" }),
    privatePkcs8: privateKey.export({ format: "der", type: "pkcs8" }),
  };
}

/** The encryption context of a sealed private key: bound to its table, column and kid. */
export function sealContext(kid: string): Record<string, string> {
  return { table: "rampart_signing_keys", column: "private_key", kid };
}

/** Seals a private key for storage in its row. */
export async function sealPrivateKey(sealer: Sealer, key: GeneratedSigningKey): Promise<string> {
  return sealer.seal(key.privatePkcs8, sealContext(key.kid));
}

/** Opens a stored private key; the sealer fails when the row's kid does not match. */
export async function openPrivateKey(sealer: Sealer, kid: string, sealed: string): Promise<KeyObject> {
  const der = await sealer.open(sealed, sealContext(kid));
  try {
    const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    if (key.asymmetricKeyType !== "ed25519") throw new Error(`signing key ${kid} is not Ed25519`);
    return key;
  } finally {
    der.fill(0);
  }
}

/** Parses a stored public JWK, accepting only an Ed25519 OKP key for EdDSA with the row's kid. */
export function parsePublicJwk(kid: string, text: string): PublicSigningJwk {
  const j = JSON.parse(text) as Record<string, unknown>;
  if (j.kty !== "OKP" || j.crv !== "Ed25519" || typeof j.x !== "string" || j.kid !== kid) throw new Error(`stored public key of ${kid} is not an Ed25519 JWK`);
  return Object.freeze({ kty: "OKP", crv: "Ed25519", x: j.x, kid, alg: "EdDSA", use: "sig" });
}

/** Imports a public JWK as the verification key jose uses (imported once per key, not per token). */
export async function importPublicKey(jwk: PublicSigningJwk): Promise<CryptoKey> {
  const key = await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, "EdDSA");
  if (key instanceof Uint8Array) throw new Error("expected an asymmetric key");
  return key;
}
