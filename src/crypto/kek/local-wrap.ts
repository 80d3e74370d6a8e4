/**
 * The AES-256-GCM key wrapping used by the `local` provider, for DEKs under a
 * KEK version and for KEK versions under the master key. Wrapped form:
 * nonce(12) ‖ ciphertext ‖ tag(16). The AAD names what is wrapped and under
 * which version, so a wrapped key moved to another version, key id or subject
 * fails. Random 96-bit nonces are within NIST SP 800-38D §8.3: one KEK wraps
 * far fewer than 2^32 DEKs between rotations.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { canonicalContext, type EncryptionContext } from "../context.js";
import { DecryptionFailed } from "../errors.js";
import type { KekRef } from "./types.js";

const NONCE = 12;
const TAG = 16;

export function gcmWrap(key: Buffer, plaintext: Buffer, aad: Buffer, nonce: Buffer = randomBytes(NONCE)): Buffer {
  const c = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG });
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([nonce, ct, c.getAuthTag()]);
}

/** Unwraps or throws DecryptionFailed. */
export function gcmUnwrap(key: Buffer, wrapped: Buffer, aad: Buffer): Buffer {
  if (wrapped.length < NONCE + TAG) throw new DecryptionFailed();
  try {
    const d = createDecipheriv("aes-256-gcm", key, wrapped.subarray(0, NONCE), { authTagLength: TAG });
    d.setAAD(aad);
    d.setAuthTag(wrapped.subarray(wrapped.length - TAG));
    return Buffer.concat([d.update(wrapped.subarray(NONCE, wrapped.length - TAG)), d.final()]);
  } catch {
    throw new DecryptionFailed();
  }
}

function encodeRef(label: string, ref: KekRef): Buffer {
  const keyId = Buffer.from(ref.keyId, "utf8");
  const out = Buffer.alloc(2 + keyId.length + 4);
  out.writeUInt16BE(keyId.length, 0);
  keyId.copy(out, 2);
  out.writeUInt32BE(ref.version, 2 + keyId.length);
  return Buffer.concat([Buffer.from(label, "ascii"), Buffer.of(0), Buffer.from(ref.provider, "ascii"), Buffer.of(0), out]);
}

/** AAD for a DEK wrapped by a KEK version: label ‖ KEK ref ‖ canonical key context. */
export function dekWrapAad(ref: KekRef, context: EncryptionContext): Buffer {
  return Buffer.concat([encodeRef("rampart dek wrap", ref), canonicalContext(context)]);
}

/** AAD for a local KEK version wrapped by the master key. */
export function kekWrapAad(ref: KekRef): Buffer {
  return encodeRef("rampart local kek wrap", ref);
}

/** Purpose keys from the master key (STYLE §9: HKDF with an info label, never the raw secret). */
export function masterWrappingKey(master: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), "rampart local master key: kek wrapping", 32));
}

/** A public, non-reversible identifier of a master key, stored next to the rows it wraps. */
export function masterKeyCheck(master: Buffer): string {
  return Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), "rampart local master key: check value", 16)).toString("hex");
}
