/**
 * The per-instance view of the signing keys: public keys by `kid` for
 * verification and the JWKS, and the one private key this instance signs
 * with. It is a snapshot of `rampart_signing_keys`, replaced whole on each
 * reload (on an interval and on a `signing-keys:changed` message), so every
 * instance converges on the database.
 *
 * The signing key is chosen by time, not by the row's state: the newest key
 * whose `activatesAt` has passed signs. Since every instance already holds a
 * pending key for its whole publish delay, all of them switch at the same
 * moment without waiting for the lease holder's row update. `kid` is only a
 * key into this map (RFC 7515 §4.1.4); nothing is ever fetched for a token.
 */
import type { KeyObject } from "node:crypto";
import type { CryptoKey } from "jose";
import type { Kysely } from "kysely";
import type { Tables } from "../../db/tables.js";
import { RampartError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";
import { importPublicKey, openPrivateKey, parsePublicJwk } from "./key-material.js";
import { listSigningKeys, type SigningKeyRecord } from "./key-store.js";
import { signsFrom } from "./rotation.js";
import type { JwkSet, PublicSigningJwk, Sealer } from "./types.js";

interface RingKey {
  readonly record: SigningKeyRecord;
  readonly jwk: PublicSigningJwk;
  readonly publicKey: CryptoKey;
}

/** The key an instance signs with. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

/** I/O of the key ring. */
export interface KeyRingDeps {
  readonly db: Kysely<Tables>;
  readonly log: Logger;
  readonly sealer: Sealer;
}

function published(k: SigningKeyRecord, now: number): boolean {
  return k.state !== "retired" || (k.publishUntil !== null && now < k.publishUntil);
}

/** A snapshot of the stored signing keys, reloadable; one per instance. */
export class SigningKeyRing {
  private keys: ReadonlyMap<string, RingKey> = new Map();
  private readonly opened = new Map<string, Promise<KeyObject>>();
  private loading: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly deps: KeyRingDeps) {}

  /**
   * Reads the keys again. A call made while a read is in flight gets a read
   * that starts after it, so a change announced before the call is seen.
   */
  reload(): Promise<void> {
    if (!this.loading) {
      this.loading = this.load().finally(() => (this.loading = undefined));
      return this.loading;
    }
    this.queued ??= this.loading
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.reload();
      });
    return this.queued;
  }

  private async load(): Promise<void> {
    const records = await listSigningKeys(this.deps.db);
    const next = new Map<string, RingKey>();
    for (const record of records) {
      const known = this.keys.get(record.kid);
      if (known) {
        next.set(record.kid, { ...known, record });
        continue;
      }
      try {
        const jwk = parsePublicJwk(record.kid, record.publicJwk);
        next.set(record.kid, { record, jwk, publicKey: await importPublicKey(jwk) });
      } catch (err) {
        this.deps.log.error({ err, kid: record.kid }, "stored signing key is unusable; skipped");
      }
    }
    this.keys = next;
    // Private keys of keys that can no longer sign are dropped from memory.
    for (const kid of this.opened.keys()) if (next.get(kid)?.record.state === "retired" || !next.has(kid)) this.opened.delete(kid);
  }

  /** The verification key for `kid` if that key is ours and still published at `now`. */
  verificationKey(kid: string, now: number): CryptoKey | undefined {
    const k = this.keys.get(kid);
    return k && published(k.record, now) ? k.publicKey : undefined;
  }

  /** Whether tokens signed by `kid` still verify at `now` (cheap; for cached verifications). */
  trusts(kid: string, now: number): boolean {
    const k = this.keys.get(kid);
    return k !== undefined && published(k.record, now);
  }

  /** The kid this instance signs with at `now`, if any. */
  signingKid(now: number): string | undefined {
    let best: SigningKeyRecord | undefined;
    for (const { record } of this.keys.values()) {
      if (record.state === "retired" || signsFrom(record) > now) continue;
      if (!best || signsFrom(record) > signsFrom(best) || (signsFrom(record) === signsFrom(best) && record.state === "active")) best = record;
    }
    return best?.kid;
  }

  /** The private key to sign with at `now`, opened through the sealer once per key. */
  async signingKey(now: number): Promise<SigningKey> {
    const kid = this.signingKid(now);
    const k = kid === undefined ? undefined : this.keys.get(kid);
    if (!k) throw new RampartError("SERVICE_UNAVAILABLE", { message: "No token signing key is available." });
    let opening = this.opened.get(k.record.kid);
    if (!opening) {
      opening = openPrivateKey(this.deps.sealer, k.record.kid, k.record.privateKeySealed);
      this.opened.set(k.record.kid, opening);
      opening.catch(() => this.opened.delete(k.record.kid));
    }
    try {
      return { kid: k.record.kid, privateKey: await opening };
    } catch (err) {
      this.deps.log.error({ err, kid: k.record.kid }, "could not open the signing key");
      throw new RampartError("SERVICE_UNAVAILABLE", { message: "No token signing key is available.", cause: err });
    }
  }

  /** The public JWK Set at `now`: pending, active and retired keys still in their window (RFC 7517 §5). */
  jwks(now: number): JwkSet {
    const keys: PublicSigningJwk[] = [];
    for (const k of this.keys.values()) if (published(k.record, now)) keys.push(k.jwk);
    return { keys };
  }

  /** The stored keys as last loaded (for `rampart keys` listings and tests). */
  records(): SigningKeyRecord[] {
    return [...this.keys.values()].map((k) => k.record);
  }
}
