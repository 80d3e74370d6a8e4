/**
 * The rp1 key schedule (suite 0x01), RFC 5869 HKDF over SHA-512 as in the AWS
 * Encryption SDK's committing suite:
 *   PRK = HKDF-Extract(salt = "rampart rp1 dek", IKM = DEK)          once per DEK (§2.2)
 *   OKM = HKDF-Expand(PRK, "rampart rp1 key" ‖ version ‖ suite ‖ message salt, 64)   per message (§2.3)
 *   message key = OKM[0..32], commitment = OKM[32..64]
 * The extract step does not depend on the message, so it runs once when a
 * DEK enters memory and only the PRK is kept (the DEK itself is zeroized).
 * The random 256-bit salt in every message enters through info (§3.2).
 * Single messages (message.ts), frames (frames.ts) and the per-DEK key cache
 * (message-keys.ts) all derive their keys here.
 */
import { createHmac } from "node:crypto";
import { RP1_VERSION, SUITE_AES256GCM_HKDF_SHA512_COMMIT } from "./format.js";

const EXTRACT_SALT = Buffer.from("rampart rp1 dek", "ascii");
const KEY_INFO = Buffer.concat([Buffer.from("rampart rp1 key", "ascii"), Buffer.of(RP1_VERSION, SUITE_AES256GCM_HKDF_SHA512_COMMIT)]);
const BLOCK_1 = Buffer.of(0x01);

/** HKDF-Extract(salt = "rampart rp1 dek", DEK): the 64-byte PRK kept in memory instead of the DEK. */
export function extractPrk(dek: Buffer): Buffer {
  return createHmac("sha512", EXTRACT_SALT).update(dek).digest();
}

export interface MessageKey {
  /** The AES-256 key: OKM[0..32]. */
  readonly key: Buffer;
  /** The key commitment: OKM[32..64]. */
  readonly commitment: Buffer;
}

/** HKDF-Expand with L = 64 = one block: T(1) = HMAC(PRK, info ‖ 0x01). Returns the message key and the commitment. */
export function deriveMessageKey(prk: Buffer, salt: Buffer): MessageKey {
  const okm = createHmac("sha512", prk).update(KEY_INFO).update(salt).update(BLOCK_1).digest();
  return { key: okm.subarray(0, 32), commitment: okm.subarray(32, 64) };
}
