/**
 * Sealing and opening single (unframed) rp1 messages under a DEK, with the
 * message key and commitment of key-schedule.ts (HKDF over SHA-512, suite
 * 0x01). A writer draws a fresh salt, and so a fresh AES key, every 2^16
 * messages (message-keys.ts), so a cached DEK never approaches the 2^32
 * random-IV limit of NIST SP 800-38D §8.3 however many messages it encrypts.
 * The commitment is compared in constant time before any decryption, so one
 * ciphertext cannot be made to decrypt under two keys (the "invisible
 * salamanders" attack on plain GCM).
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { DecryptionFailed } from "./errors.js";
import { COMMITMENT_BYTES, NONCE_BYTES, RP1_VERSION, SALT_BYTES, SUITE_AES256GCM_HKDF_SHA512_COMMIT, TAG_BYTES, type Rp1Header } from "./format.js";
import type { MessageKeys, SealingKey } from "./message-keys.js";
import type { RandomPool } from "./random.js";

const FIXED_BYTES = 3 + SALT_BYTES + NONCE_BYTES + COMMITMENT_BYTES;

export interface SealOptions {
  keySection: Buffer;
  /** FLAG_SUBJECT or 0 (single messages are never framed). */
  flags: number;
  /** The salt and its derived key (MessageKeys.forSealing); not zeroized here. */
  key: SealingKey;
  plaintext: Uint8Array;
  context: Buffer;
  random: RandomPool;
  /** Fixed nonce for known-answer tests only. */
  nonce?: Buffer;
}

/** Encrypts one message; output is header ‖ ciphertext ‖ tag in a single allocation. */
export function sealSingle(o: SealOptions): Buffer {
  const ks = o.keySection.length;
  const out = Buffer.allocUnsafe(3 + ks + FIXED_BYTES - 3 + o.plaintext.length + TAG_BYTES);
  out[0] = RP1_VERSION;
  out[1] = SUITE_AES256GCM_HKDF_SHA512_COMMIT;
  out[2] = o.flags;
  o.keySection.copy(out, 3);
  const p = 3 + ks;
  o.key.salt.copy(out, p);
  if (o.nonce) o.nonce.copy(out, p + SALT_BYTES);
  else o.random.fill(out, p + SALT_BYTES, NONCE_BYTES);
  o.key.commitment.copy(out, p + SALT_BYTES + NONCE_BYTES);
  const bodyStart = p + SALT_BYTES + NONCE_BYTES + COMMITMENT_BYTES;
  const cipher = createCipheriv("aes-256-gcm", o.key.key, out.subarray(p + SALT_BYTES, p + SALT_BYTES + NONCE_BYTES), { authTagLength: TAG_BYTES });
  cipher.setAAD(out.subarray(0, 3));
  cipher.setAAD(out.subarray(p, bodyStart));
  cipher.setAAD(o.context);
  const ct = cipher.update(o.plaintext);
  ct.copy(out, bodyStart);
  cipher.final();
  cipher.getAuthTag().copy(out, bodyStart + ct.length);
  return out;
}

/** Decrypts one parsed single message; every failure is DecryptionFailed. */
export function openSingle(header: Rp1Header, message: Buffer, keys: MessageKeys, context: Buffer): Buffer {
  const body = message.subarray(header.bodyStart);
  if (header.framed || body.length < TAG_BYTES) throw new DecryptionFailed();
  // Compares the commitment in constant time before any decryption.
  const key = keys.forOpening(header.salt, header.commitment);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, header.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(header.fixed[0]);
    decipher.setAAD(header.fixed[1]);
    decipher.setAAD(context);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const pt = decipher.update(body.subarray(0, body.length - TAG_BYTES));
    decipher.final();
    return pt;
  } catch {
    throw new DecryptionFailed();
  }
}
