/**
 * The `pkcs11` KEK provider: an AES-256 key inside an HSM (SoftHSM2 in tests).
 * DEKs are wrapped with CKM_AES_GCM inside the token: iv(12) ‖ ciphertext ‖
 * tag(16), AAD = KEK ref ‖ key context. The key is created on first use if
 * absent — sensitive, non-extractable, encrypt/decrypt only — so its value
 * never exists outside the token. Version 1 is the object labelled
 * PKCS11_KEY_LABEL (an operator may provision it), version N > 1 is labelled
 * `<label>.vN`; versions are registered in `rampart_kek_versions` so every
 * instance agrees on the current one. Key creation is guarded by a database
 * lease so two instances starting at once cannot create two keys.
 */
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { OptionalPackageMissing } from "../../config/optional-package.js";
import { acquireLease, releaseLease } from "../../db/leases.js";
import type { Tables } from "../../db/tables.js";
import type { Clock } from "../../runtime/clock.js";
import type { EncryptionContext } from "../context.js";
import { DecryptionFailed, KekUnavailableError } from "../errors.js";
import { dekWrapAad } from "./local-wrap.js";
import { Pkcs11Session, pkcs11Code, SESSION_LOST_CODES } from "./pkcs11-session.js";
import { KekRegistry } from "./registry.js";
import type { GeneratedKey, KekProvider, KekRef, KekVersionInfo, WrappedKey } from "./types.js";

export interface Pkcs11KekOptions {
  db: Kysely<Tables>;
  modulePath: string;
  tokenLabel: string;
  keyLabel: string;
  pin: string;
  log: Logger;
  clock: Clock;
}

const IV = 12;
const LEASE_MS = 30_000;

export class Pkcs11Kek implements KekProvider {
  readonly name = "pkcs11" as const;
  private readonly registry: KekRegistry;
  private readonly handles = new Map<number, Buffer>();
  private readonly holder = randomBytes(8).toString("hex");

  private constructor(
    private readonly o: Pkcs11KekOptions,
    private readonly session: Pkcs11Session,
  ) {
    this.registry = new KekRegistry(o.db, "pkcs11", o.keyLabel);
  }

  static async open(o: Pkcs11KekOptions): Promise<Pkcs11Kek> {
    try {
      return new Pkcs11Kek(o, await Pkcs11Session.open(o.modulePath, o.tokenLabel, o.pin));
    } catch (err) {
      if (err instanceof OptionalPackageMissing) throw err;
      throw new KekUnavailableError(`PKCS#11: cannot open a session on token '${o.tokenLabel}' with module ${o.modulePath}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Label of the token object holding a version. */
  objectLabel(version: number): string {
    return version === 1 ? this.o.keyLabel : `${this.o.keyLabel}.v${version}`;
  }

  private ref(version: number): KekRef {
    return { provider: "pkcs11", keyId: this.o.keyLabel, version };
  }

  /** Runs a token operation, reopening the session once if it was lost. */
  private call<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!SESSION_LOST_CODES.has(pkcs11Code(err) ?? -1)) throw err;
      this.handles.clear();
      try {
        this.session.reopen();
        return fn();
      } catch (again) {
        throw new KekUnavailableError(`PKCS#11 token unavailable: ${(again as Error).message}`, { cause: again });
      }
    }
  }

  private find(version: number): Buffer | undefined {
    const cached = this.handles.get(version);
    if (cached) return cached;
    const found = this.call(() => this.session.findKeys(this.objectLabel(version)));
    if (found.length > 1) this.o.log.error({ label: this.objectLabel(version), count: found.length }, "several PKCS#11 keys share one label; using the first");
    if (found[0]) this.handles.set(version, found[0]);
    return found[0];
  }

  /** The key object of a version (known to exist); DecryptionFailed when it is gone. */
  private handle(version: number): Buffer {
    const h = this.find(version);
    if (!h) throw new DecryptionFailed();
    return h;
  }

  /** The key object of a version, generated under a lease when absent. */
  private async ensure(version: number): Promise<Buffer> {
    const name = `crypto:pkcs11-keygen:${this.o.keyLabel}`;
    for (let i = 0; i < 200; i++) {
      const found = this.find(version);
      if (found) return found;
      if (await acquireLease(this.o.db, name, this.holder, LEASE_MS, this.o.clock.now())) {
        try {
          const again = this.find(version);
          if (again) return again;
          const handle = this.call(() => this.session.generateKey(this.objectLabel(version)));
          this.handles.set(version, handle);
          this.o.log.info({ label: this.objectLabel(version) }, "PKCS#11 KEK created in the token (non-extractable)");
          return handle;
        } finally {
          await releaseLease(this.o.db, name, this.holder);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new KekUnavailableError(`PKCS#11: timed out waiting for another instance to create '${this.objectLabel(version)}'`);
  }

  async current(): Promise<KekRef> {
    let row = await this.registry.current();
    if (!row) {
      await this.registry.insert(1);
      row = await this.registry.current();
    }
    if (!row) throw new KekUnavailableError("PKCS#11 KEK: no active version");
    return this.ref(row.version);
  }

  async generateDataKey(context: EncryptionContext): Promise<GeneratedKey> {
    const dek = randomBytes(32);
    return { dek, ...(await this.wrap(dek, context)) };
  }

  async wrap(dek: Buffer, context: EncryptionContext): Promise<WrappedKey> {
    const ref = await this.current();
    await this.ensure(ref.version);
    const iv = randomBytes(IV);
    // The handle is looked up inside the retried call: after a lost session it is found again.
    const ct = this.call(() => this.session.gcm("encrypt", this.handle(ref.version), iv, dekWrapAad(ref, context), dek));
    return { ref, wrapped: Buffer.concat([iv, ct]) };
  }

  async unwrap(ref: KekRef, wrapped: Buffer, context: EncryptionContext): Promise<Buffer> {
    if (ref.provider !== "pkcs11" || ref.keyId !== this.o.keyLabel || wrapped.length <= IV + 16) throw new DecryptionFailed();
    const row = await this.registry.get(ref.version);
    if (!row || row.state !== "active") throw new DecryptionFailed();
    if (!this.find(ref.version)) throw new DecryptionFailed();
    try {
      return this.call(() => this.session.gcm("decrypt", this.handle(ref.version), wrapped.subarray(0, IV), dekWrapAad(ref, context), wrapped.subarray(IV)));
    } catch (err) {
      if (err instanceof KekUnavailableError) throw err;
      throw new DecryptionFailed();
    }
  }

  async rotate(): Promise<KekRef> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const version = await this.registry.nextVersion();
      if (await this.registry.insert(version)) {
        await this.ensure(version);
        this.o.log.info({ kek: `pkcs11/${this.o.keyLabel}#v${version}`, label: this.objectLabel(version) }, "KEK rotated: new key created in the token");
        return this.ref(version);
      }
    }
    throw new KekUnavailableError("PKCS#11 KEK: could not create a new version (concurrent rotations)");
  }

  async retire(ref: KekRef): Promise<void> {
    const key = this.find(ref.version);
    if (key) this.call(() => this.session.destroy(key));
    this.handles.delete(ref.version);
    await this.registry.retire(ref.version, new Date(this.o.clock.now()));
  }

  versions(): Promise<KekVersionInfo[]> {
    return this.registry.infos();
  }

  async close(): Promise<void> {
    this.handles.clear();
    this.session.close();
  }
}
