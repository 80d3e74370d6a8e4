/**
 * The message keys of one DEK held in memory, derived from its PRK
 * (key-schedule.ts) and reused within strict bounds, because deriving one costs an
 * HMAC-SHA-512 set-up: about as much as a whole AES-GCM operation on a small
 * field, so deriving per message each way held a field round trip to 0.4 of
 * raw AES-GCM.
 *
 * - Sealing: one salt, and so one message key, serves at most
 *   MESSAGES_PER_SALT (2^16) messages, each with its own random 96-bit IV.
 *   The chance that two of them share an IV is below 2^-65, far inside the
 *   2^-32 bound of NIST SP 800-38D §8.3 (which allows 2^32 random-IV messages
 *   per key). The wire format is unchanged: a salt is still carried in every
 *   message and any reader derives the key from it.
 * - Opening: the keys of the last OPEN_CACHE_SIZE salts seen are kept per
 *   DEK, entered only after the commitment matched; the commitment of every
 *   message is still compared in constant time before decryption.
 *
 * All use is synchronous (a key is taken and used within one call), so a key
 * zeroized on eviction is never in use. destroy() zeroizes the PRK and every
 * derived key; it runs whenever the DEK leaves memory.
 */
import { constantTimeEqual, zeroize } from "./bytes.js";
import { DecryptionFailed } from "./errors.js";
import { SALT_BYTES } from "./format.js";
import { deriveMessageKey, type MessageKey } from "./key-schedule.js";
import type { RandomPool } from "./random.js";

/** Messages sealed under one salt before a fresh one is drawn. */
export const MESSAGES_PER_SALT = 2 ** 16;
/** Opening keys kept per DEK (a DEK's messages carry few salts: one per MESSAGES_PER_SALT messages per writer). */
export const OPEN_CACHE_SIZE = 32;

export interface SealingKey extends MessageKey {
  readonly salt: Buffer;
}

export class MessageKeys {
  private sealing: (SealingKey & { left: number }) | undefined;
  private readonly opening = new Map<string, MessageKey>();

  /** @param prk the DEK's PRK; owned from now on (zeroized by destroy). */
  constructor(readonly prk: Buffer) {}

  /** The key for the next sealed message: the current salt's, or a fresh salt's once it has served its quota. */
  forSealing(random: RandomPool): SealingKey {
    let s = this.sealing;
    if (s === undefined || s.left === 0) {
      if (s) wipe(s);
      const salt = random.bytes(SALT_BYTES);
      s = { salt, ...deriveMessageKey(this.prk, salt), left: MESSAGES_PER_SALT };
      this.sealing = s;
    }
    s.left--;
    return s;
  }

  /** The key of a message with this salt and commitment; DecryptionFailed when the commitment does not match. */
  forOpening(salt: Buffer, commitment: Buffer): Buffer {
    const id = salt.toString("latin1");
    const cached = this.opening.get(id);
    if (cached !== undefined) {
      if (!constantTimeEqual(cached.commitment, commitment)) throw new DecryptionFailed();
      return cached.key;
    }
    const derived = deriveMessageKey(this.prk, salt);
    if (!constantTimeEqual(derived.commitment, commitment)) {
      wipe(derived);
      throw new DecryptionFailed();
    }
    if (this.opening.size >= OPEN_CACHE_SIZE) {
      // Oldest first (Map keeps insertion order).
      const [oldest, old] = this.opening.entries().next().value as [string, MessageKey];
      this.opening.delete(oldest);
      wipe(old);
    }
    this.opening.set(id, derived);
    return derived.key;
  }

  /** Zeroizes the PRK and every derived key. */
  destroy(): void {
    zeroize(this.prk);
    if (this.sealing) wipe(this.sealing);
    this.sealing = undefined;
    for (const k of this.opening.values()) wipe(k);
    this.opening.clear();
  }
}

function wipe(k: MessageKey): void {
  k.key.fill(0);
  k.commitment.fill(0);
}
