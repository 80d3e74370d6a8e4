/**
 * Where a keyring's plaintext DEKs live: the encrypt-side pool (dek-pool.ts)
 * and one bounded LRU (key-cache.ts) of unwrapped DEKs for decryption —
 * shared DEKs keyed by their rp1 key section, subject DEKs by key id. Loads
 * are single-flight per key, so N concurrent decrypts of fields under one DEK
 * make one KEK call. Every DEK leaving memory is zeroized.
 *
 * An epoch guards against a load finishing after a shred or rotation: a load
 * that started before the epoch changed does not populate the cache, so a
 * shredded key can never be re-cached from a read that raced the delete.
 */
import type { Clock } from "../runtime/clock.js";
import { zeroize } from "./bytes.js";
import type { EncryptionContext } from "./context.js";
import { DataKeyPool, type DekLimits } from "./dek-pool.js";
import { DecryptionFailed } from "./errors.js";
import { encodeKeySection, type Rp1Header } from "./format.js";
import { KeyCache } from "./key-cache.js";
import { extractPrk } from "./key-schedule.js";
import { MessageKeys } from "./message-keys.js";
import { sameRef, type KekProvider, type KekRef } from "./kek/types.js";
import type { SubjectKey, SubjectKeyStore } from "./subject-keys.js";

/** The key context of shared (non-subject) DEKs. */
export const SHARED_KEY_CONTEXT: EncryptionContext = Object.freeze({ "rampart:purpose": "dek" });

export interface CachedDek {
  /** The DEK's PRK and derived message keys (message-keys.ts); the DEK is zeroized on arrival. */
  readonly keys: MessageKeys;
  readonly ref: KekRef;
  readonly subject?: string;
  readonly keyId?: Buffer;
}

export interface DataKeysOptions {
  kek: KekProvider;
  subjects: SubjectKeyStore;
  limits: DekLimits;
  cacheSize: number;
  cacheMaxAgeMs: number;
  clock: Clock;
}

export function subjectCacheKey(keyId: Buffer): string {
  return `s:${keyId.toString("hex")}`;
}

export function headerCacheKey(header: Rp1Header): string {
  return header.keySource.kind === "subject" ? subjectCacheKey(header.keySource.keyId) : `w:${header.keySection.toString("latin1")}`;
}

export class DataKeys {
  readonly pool: DataKeyPool;
  readonly cache: KeyCache<CachedDek>;
  private readonly subjectIndex = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<void>>();
  private epoch = 0;

  constructor(private readonly o: DataKeysOptions) {
    this.pool = new DataKeyPool(o.limits, o.clock);
    this.cache = new KeyCache<CachedDek>(o.cacheSize, o.cacheMaxAgeMs, o.clock, (v, k) => {
      v.keys.destroy();
      if (v.subject !== undefined && this.subjectIndex.get(v.subject) === k) this.subjectIndex.delete(v.subject);
    });
  }

  private once(key: string, load: (epoch: number) => Promise<void>): Promise<void> {
    let p = this.inflight.get(key);
    if (!p) {
      p = load(this.epoch).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** Replaces the pooled encrypt DEK with a fresh one (one KEK call). */
  refreshPool(): Promise<void> {
    return this.once("pool", async (epoch) => {
      const gen = await this.o.kek.generateDataKey(SHARED_KEY_CONTEXT);
      if (epoch !== this.epoch) {
        zeroize(gen.dek);
        return;
      }
      const keySection = encodeKeySection({ kind: "wrapped", ref: gen.ref, wrapped: gen.wrapped });
      const prk = extractPrk(gen.dek);
      zeroize(gen.dek);
      // Also cache it for decryption, so reading back fresh data needs no unwrap.
      this.cache.set(`w:${keySection.toString("latin1")}`, { keys: new MessageKeys(Buffer.from(prk)), ref: gen.ref });
      this.pool.install({ ref: gen.ref, keys: new MessageKeys(prk), keySection, createdAt: this.o.clock.now(), messages: 0, bytes: 0 });
    });
  }

  lookup(header: Rp1Header): CachedDek | undefined {
    return this.cache.get(headerCacheKey(header));
  }

  /** Loads the DEK a header names into the cache; DecryptionFailed when it cannot exist (unknown or shredded key). */
  load(header: Rp1Header): Promise<void> {
    const key = headerCacheKey(header);
    const src = header.keySource;
    return this.once(key, async (epoch) => {
      if (src.kind === "wrapped") {
        const dek = await this.o.kek.unwrap(src.ref, src.wrapped, SHARED_KEY_CONTEXT);
        const prk = extractPrk(dek);
        zeroize(dek);
        if (epoch === this.epoch) this.cache.set(key, { keys: new MessageKeys(prk), ref: src.ref });
        else zeroize(prk);
        return;
      }
      const stored = await this.o.subjects.findByKeyId(src.keyId);
      if (!stored) throw new DecryptionFailed();
      this.install(stored, await this.o.subjects.unwrap(stored), epoch);
    });
  }

  lookupSubject(subject: string): CachedDek | undefined {
    const k = this.subjectIndex.get(subject);
    return k === undefined ? undefined : this.cache.get(k);
  }

  /** Loads a subject's DEK, creating it on first use when `create`; otherwise DecryptionFailed if it has none. */
  loadSubject(subject: string, create: boolean): Promise<void> {
    return this.once(`subject:${subject}:${create}`, async (epoch) => {
      if (create) {
        const { key, dek } = await this.o.subjects.getOrCreate(subject);
        this.install(key, dek, epoch);
        return;
      }
      const stored = await this.o.subjects.find(subject);
      if (!stored) throw new DecryptionFailed();
      this.install(stored, await this.o.subjects.unwrap(stored), epoch);
    });
  }

  private install(key: SubjectKey, dek: Buffer, epoch: number): void {
    const prk = extractPrk(dek);
    zeroize(dek);
    if (epoch !== this.epoch) {
      zeroize(prk);
      return;
    }
    const k = subjectCacheKey(key.keyId);
    this.cache.set(k, { keys: new MessageKeys(prk), ref: key.ref, subject: key.subject, keyId: key.keyId });
    this.subjectIndex.set(key.subject, k);
  }

  /** Drops a subject key (shred, here or on another instance). */
  dropSubjectKey(keyId: Buffer | undefined, subject?: string): void {
    this.epoch++;
    if (keyId) this.cache.delete(subjectCacheKey(keyId));
    const k = subject === undefined ? undefined : this.subjectIndex.get(subject);
    if (k !== undefined) this.cache.delete(k);
  }

  /** New KEK version: stop encrypting under the pooled DEK. */
  rotated(): void {
    this.epoch++;
    this.pool.flush();
  }

  /** Retired KEK version: forget every DEK it wrapped. */
  dropRef(ref: KekRef): void {
    this.epoch++;
    this.cache.deleteWhere((v) => sameRef(v.ref, ref));
  }

  close(): void {
    this.epoch++;
    this.pool.flush();
    this.cache.clear();
  }
}
