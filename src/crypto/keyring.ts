/**
 * The keyring: envelope encryption as the rest of Rampart uses it.
 *
 *   encrypt / decrypt            fields under a shared, cached DEK (text form `rp1:`)
 *   encryptFor / decryptFor      fields under the subject's own DEK; shred(subject) erases it
 *   encryptStream / decryptStream, encryptLarge / decryptLarge   framed, for files and streams
 *   blindIndex                   keyed equality lookups on encrypted columns
 *   keysStatus / rotateKek / rewrap / retireKek   rotation (`rampart keys ...`)
 *
 * Every rejected ciphertext is DecryptionFailed. On a cache hit no KEK call
 * and no await happens between taking a DEK and using it, so a concurrent
 * eviction (which zeroizes) can never hand a cleared key to a cipher.
 */
import { Duplex } from "node:stream";
import { BlindIndex, deriveIndexKey, type BlindIndexOptions } from "./blind-index.js";
import { asBuffer, MalformedInput } from "./bytes.js";
import { validateColumn, type CiphertextColumn } from "./ciphertext-columns.js";
import { canonicalContext, type EncryptionContext } from "./context.js";
import type { CachedDek, DataKeys } from "./data-keys.js";
import { DecryptionFailed, KekUnavailableError } from "./errors.js";
import { FLAG_SUBJECT, fromText, parseHeader, toText, type Rp1Header } from "./format.js";
import { openFrames, sealFrames } from "./frames.js";
import { sealSingle, openSingle } from "./message.js";
import type { KeyringParts } from "./parts.js";
import { RandomPool } from "./random.js";
import { rewrap, type RewrapOptions, type RewrapResult } from "./rewrap.js";
import { keysStatus, retireKek, rotateKek, type KeysStatus } from "./rotation.js";
import type { KekRef } from "./kek/types.js";
import type { KekStats } from "./kek/instrumented.js";

export type Plaintext = string | Uint8Array;
export type Ciphertext = string | Uint8Array;

export interface FramedOptions {
  /** Encrypt under this subject's key (and on decrypt, require it). */
  subject?: string;
  /** Plaintext bytes per frame on encrypt (default 64 KiB). */
  frameSize?: number;
}

function bytesOf(p: Plaintext): Buffer {
  return typeof p === "string" ? Buffer.from(p, "utf8") : asBuffer(p);
}

function parse(ciphertext: Ciphertext): { bytes: Buffer; header: Rp1Header } {
  try {
    const bytes = typeof ciphertext === "string" ? fromText(ciphertext) : asBuffer(ciphertext);
    return { bytes, header: parseHeader(bytes) };
  } catch (err) {
    if (err instanceof MalformedInput) throw new DecryptionFailed();
    throw err;
  }
}

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gen) parts.push(b);
  return Buffer.concat(parts);
}

export class Keyring {
  private readonly random = new RandomPool();
  private readonly indexes = new Map<string, { index: BlindIndex; options: string }>();
  private readonly columnList: CiphertextColumn[] = [];
  private readonly keys: DataKeys;

  /** @internal built by createKeyring */
  constructor(
    private readonly parts: KeyringParts & { columns: CiphertextColumn[]; kekStats: () => KekStats },
    private readonly blindRoot: () => Promise<Buffer>,
    private readonly onClose: () => Promise<void>,
  ) {
    this.keys = parts.keys;
    this.columnList = parts.columns;
  }

  /** Runs `use` synchronously on the DEK found by `lookup`, loading it first when absent. */
  private async withKey<T>(lookup: () => CachedDek | undefined, load: () => Promise<void>, use: (k: CachedDek) => T): Promise<T> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const k = lookup();
      if (k) return use(k);
      await load();
    }
    throw new KekUnavailableError("data keys are evicted before use: raise CRYPTO_DEK_CACHE_SIZE");
  }

  /** Encrypts a field under a shared cached DEK; returns the `rp1:` text form. */
  async encrypt(plaintext: Plaintext, context: EncryptionContext): Promise<string> {
    return toText(await this.encryptToBuffer(plaintext, context));
  }

  /** As encrypt, binary form (for bytea columns). */
  async encryptToBuffer(plaintext: Plaintext, context: EncryptionContext): Promise<Buffer> {
    const pt = bytesOf(plaintext);
    const ctx = canonicalContext(context);
    let k = this.keys.pool.take(pt.length);
    while (!k) {
      await this.keys.refreshPool();
      k = this.keys.pool.take(pt.length);
    }
    return sealSingle({ keySection: k.keySection, flags: 0, key: k.keys.forSealing(this.random), plaintext: pt, context: ctx, random: this.random });
  }

  /** Decrypts any rp1 message (text or binary, single or framed) with the expected context. */
  async decrypt(ciphertext: Ciphertext, context: EncryptionContext): Promise<Buffer> {
    const ctx = canonicalContext(context);
    const { bytes, header } = parse(ciphertext);
    if (header.framed) return collect(this.decryptFrames([bytes], context));
    // Hot path: a cached DEK, no closures.
    const hit = this.keys.lookup(header);
    if (hit) return openSingle(header, bytes, hit.keys, ctx);
    return this.withKey(
      () => this.keys.lookup(header),
      () => this.keys.load(header),
      (k) => openSingle(header, bytes, k.keys, ctx),
    );
  }

  async decryptString(ciphertext: Ciphertext, context: EncryptionContext): Promise<string> {
    return (await this.decrypt(ciphertext, context)).toString("utf8");
  }

  /** Encrypts under the subject's own DEK (created on first use); returns the text form. */
  async encryptFor(subject: string, plaintext: Plaintext, context: EncryptionContext): Promise<string> {
    const pt = bytesOf(plaintext);
    const ctx = canonicalContext(context);
    const bytes = await this.withKey(
      () => this.keys.lookupSubject(subject),
      () => this.keys.loadSubject(subject, true),
      (k) => sealSingle({ keySection: k.keyId!, flags: FLAG_SUBJECT, key: k.keys.forSealing(this.random), plaintext: pt, context: ctx, random: this.random }),
    );
    return toText(bytes);
  }

  /** Decrypts a message encrypted for `subject`; fails unless it is under that subject's current key. */
  async decryptFor(subject: string, ciphertext: Ciphertext, context: EncryptionContext): Promise<Buffer> {
    const ctx = canonicalContext(context);
    const { bytes, header } = parse(ciphertext);
    const src = header.keySource;
    if (src.kind !== "subject") throw new DecryptionFailed();
    if (header.framed) return collect(this.decryptFrames([bytes], context, { subject }));
    return this.withKey(
      () => this.keys.lookupSubject(subject),
      () => this.keys.loadSubject(subject, false),
      (k) => {
        if (!k.keyId!.equals(src.keyId)) throw new DecryptionFailed();
        return openSingle(header, bytes, k.keys, ctx);
      },
    );
  }

  async decryptStringFor(subject: string, ciphertext: Ciphertext, context: EncryptionContext): Promise<string> {
    return (await this.decryptFor(subject, ciphertext, context)).toString("utf8");
  }

  /**
   * Crypto-shredding: deletes the subject's key and drops it from this
   * instance's caches and (through the kv store) every other instance's.
   * Returns whether the subject had a key.
   */
  async shred(subject: string): Promise<boolean> {
    const keyId = await this.parts.subjects.delete(subject);
    this.keys.dropSubjectKey(keyId, subject);
    if (keyId) await this.parts.notify({ type: "shred", keyId: keyId.toString("hex") });
    return keyId !== undefined;
  }

  /** Encrypts a stream into a framed message (header, then one buffer per frame). */
  encryptFrames(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, context: EncryptionContext, options: FramedOptions = {}): AsyncGenerator<Buffer> {
    const ctx = canonicalContext(context);
    const start = async () => {
      const subject = options.subject;
      if (subject !== undefined) {
        return this.withKey(
          () => this.keys.lookupSubject(subject),
          () => this.keys.loadSubject(subject, true),
          (k) => ({ keySection: k.keyId!, flags: FLAG_SUBJECT, prk: Buffer.from(k.keys.prk) }),
        );
      }
      let k = this.keys.pool.take(0);
      while (!k) {
        await this.keys.refreshPool();
        k = this.keys.pool.take(0);
      }
      return { keySection: k.keySection, flags: 0, prk: Buffer.from(k.keys.prk) };
    };
    const random = this.random;
    return (async function* () {
      const key = await start();
      yield* sealFrames(source, { ...key, context: ctx, random, ...(options.frameSize ? { frameSize: options.frameSize } : {}) });
    })();
  }

  /** Decrypts a framed message, yielding plaintext per verified frame. */
  decryptFrames(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, context: EncryptionContext, options: FramedOptions = {}): AsyncGenerator<Buffer> {
    const ctx = canonicalContext(context);
    const subject = options.subject;
    return openFrames(source, ctx, (header) => {
      const src = header.keySource;
      if (subject === undefined) return this.withKey(() => this.keys.lookup(header), () => this.keys.load(header), (k) => Buffer.from(k.keys.prk));
      if (src.kind !== "subject") throw new DecryptionFailed();
      return this.withKey(
        () => this.keys.lookupSubject(subject),
        () => this.keys.loadSubject(subject, false),
        (k) => {
          if (!k.keyId!.equals(src.keyId)) throw new DecryptionFailed();
          return Buffer.from(k.keys.prk);
        },
      );
    });
  }

  /** A Node transform: plaintext in, framed rp1 out. */
  encryptStream(context: EncryptionContext, options: FramedOptions = {}): Duplex {
    return Duplex.from((source: AsyncIterable<Uint8Array>) => this.encryptFrames(source, context, options));
  }

  /** A Node transform: framed rp1 in, plaintext out; errors with DecryptionFailed. */
  decryptStream(context: EncryptionContext, options: FramedOptions = {}): Duplex {
    return Duplex.from((source: AsyncIterable<Uint8Array>) => this.decryptFrames(source, context, options));
  }

  /** Framed encryption of a whole buffer. */
  encryptLarge(plaintext: Uint8Array, context: EncryptionContext, options: FramedOptions = {}): Promise<Buffer> {
    return collect(this.encryptFrames([plaintext], context, options));
  }

  /** All-or-nothing framed decryption of a whole buffer. */
  decryptLarge(ciphertext: Uint8Array, context: EncryptionContext, options: FramedOptions = {}): Promise<Buffer> {
    return collect(this.decryptFrames([ciphertext], context, options));
  }

  /** The blind index `name` (its key derived from `blind-index-key`); one definition per name. */
  async blindIndex(name: string, options: BlindIndexOptions = {}): Promise<BlindIndex> {
    const signature = JSON.stringify({ n: typeof options.normalize === "function" ? "fn" : (options.normalize ?? "none"), b: options.bits ?? 256 });
    const existing = this.indexes.get(name);
    if (existing) {
      if (existing.options !== signature) throw new TypeError(`blind index '${name}' is already defined with other options`);
      return existing.index;
    }
    const index = new BlindIndex(name, deriveIndexKey(await this.blindRoot(), name), options);
    const raced = this.indexes.get(name);
    if (raced) {
      index.destroy();
      return raced.index;
    }
    this.indexes.set(name, { index, options: signature });
    return index;
  }

  /** Registers a column holding rp1 values so rotation rewraps and counts them. */
  registerCiphertextColumn(column: CiphertextColumn): void {
    const c = validateColumn(column);
    if (!this.columnList.some((x) => x.table === c.table && x.column === c.column)) this.columnList.push(c);
  }

  keysStatus(): Promise<KeysStatus> {
    return keysStatus(this.parts);
  }

  rotateKek(): Promise<KekRef> {
    return rotateKek(this.parts);
  }

  rewrap(options?: RewrapOptions): Promise<RewrapResult> {
    return rewrap(this.parts, options);
  }

  retireKek(version: number | KekRef): Promise<void> {
    return retireKek(this.parts, version);
  }

  /** KEK provider calls of the data path (DEK generation, unwrapping) by operation: counts, failures, latency. */
  kekStats(): KekStats {
    return this.parts.kekStats();
  }

  /** Readiness probe: the KEK provider answers and, where it can tell, this instance's keys open its current version. */
  async ping(): Promise<void> {
    await this.parts.kek.current();
    await this.parts.kek.verify?.();
  }

  /**
   * Start-up check, creating nothing: rejects with KekMismatchError when this
   * instance's keys cannot open the database's current KEK version, which
   * would otherwise fail every request that touches encrypted data.
   */
  async verifyKeys(): Promise<void> {
    await this.parts.kek.verify?.();
  }

  /** Zeroizes every key in memory, unsubscribes and closes the provider. */
  async close(): Promise<void> {
    this.keys.close();
    for (const { index } of this.indexes.values()) index.destroy();
    this.indexes.clear();
    await this.onClose();
  }
}
