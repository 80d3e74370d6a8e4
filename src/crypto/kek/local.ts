/**
 * The `local` KEK provider. KEK versions are random 256-bit keys stored in
 * `rampart_kek_versions`, each wrapped by a key derived from the `master-key`
 * secret. So `rotate` needs no new secret (it inserts a new random version),
 * and replacing `master-key` re-wraps only those few rows (rewrapMasterKey),
 * never a DEK or a payload.
 */
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Tables } from "../../db/tables.js";
import type { Clock } from "../../runtime/clock.js";
import { asBuffer, zeroize } from "../bytes.js";
import type { EncryptionContext } from "../context.js";
import { DecryptionFailed, KekMismatchError, KekUnavailableError } from "../errors.js";
import { dekWrapAad, gcmUnwrap, gcmWrap, kekWrapAad, masterKeyCheck, masterWrappingKey } from "./local-wrap.js";
import { KekRegistry } from "./registry.js";
import type { GeneratedKey, KekProvider, KekRef, KekVersionInfo, WrappedKey } from "./types.js";

export interface LocalKekOptions {
  db: Kysely<Tables>;
  /** The current master key (32 bytes). */
  masterKey: Buffer;
  /** Earlier master keys whose rows are re-wrapped at start (secret `master-key-previous`). */
  previousMasterKeys?: Buffer[];
  /** Re-reads `master-key` when a row is wrapped by a key this instance has not seen (rotated elsewhere). */
  reloadMasterKey?: () => Promise<Buffer | undefined>;
  log: Logger;
  clock: Clock;
  keyId?: string;
}

export class LocalKek implements KekProvider {
  readonly name = "local" as const;
  private readonly registry: KekRegistry;
  private readonly keks = new Map<number, Buffer>();
  /** Master keys by check value; the first is current. */
  private masters = new Map<string, Buffer>();
  private currentCheck: string;

  constructor(private readonly o: LocalKekOptions) {
    this.registry = new KekRegistry(o.db, "local", o.keyId ?? "default");
    this.currentCheck = masterKeyCheck(o.masterKey);
    this.masters.set(this.currentCheck, masterWrappingKey(o.masterKey));
    for (const k of o.previousMasterKeys ?? []) this.masters.set(masterKeyCheck(k), masterWrappingKey(k));
  }

  private ref(version: number): KekRef {
    return { provider: "local", keyId: this.registry.keyId, version };
  }

  async current(): Promise<KekRef> {
    const row = await this.registry.current();
    if (row) return this.ref(row.version);
    await this.createVersion(1);
    const created = await this.registry.current();
    if (!created) throw new KekUnavailableError("local KEK: no active version after creating version 1");
    return this.ref(created.version);
  }

  private async createVersion(version: number): Promise<boolean> {
    const material = randomBytes(32);
    const wrapped = gcmWrap(this.masters.get(this.currentCheck)!, material, kekWrapAad(this.ref(version)));
    const inserted = await this.registry.insert(version, wrapped, this.currentCheck);
    if (inserted) this.keks.set(version, material);
    else zeroize(material);
    return inserted;
  }

  /** The KEK material of a version; DecryptionFailed when it does not exist or is retired. */
  private async kek(version: number): Promise<Buffer> {
    const cached = this.keks.get(version);
    if (cached) return cached;
    const row = await this.registry.get(version);
    if (!row || row.state !== "active" || row.wrapped_key === null || row.master_key_check === null) throw new DecryptionFailed();
    let master = this.masters.get(row.master_key_check);
    if (!master && this.o.reloadMasterKey) {
      const fresh = await this.o.reloadMasterKey();
      if (fresh) {
        this.adoptMaster(fresh);
        master = this.masters.get(row.master_key_check);
      }
    }
    if (!master) {
      throw new KekMismatchError(
        `master-key does not open the database's key encryption key: local KEK version ${version} is wrapped by another master key (check value ${row.master_key_check}). ` +
          "Every instance on one database needs the same master-key; while replacing it, give the old one as master-key-previous",
        "master-key does not open the database's key encryption key",
      );
    }
    const material = gcmUnwrap(master, asBuffer(row.wrapped_key), kekWrapAad(this.ref(version)));
    this.keks.set(version, material);
    return material;
  }

  private adoptMaster(masterKey: Buffer): string {
    const check = masterKeyCheck(masterKey);
    if (!this.masters.has(check)) this.masters.set(check, masterWrappingKey(masterKey));
    this.currentCheck = check;
    return check;
  }

  /** Unwraps the current version, if there is one yet: a master key other than the one that wrapped it fails here. */
  async verify(): Promise<void> {
    const row = await this.registry.current();
    if (row) await this.kek(row.version);
  }

  async generateDataKey(context: EncryptionContext): Promise<GeneratedKey> {
    const dek = randomBytes(32);
    return { dek, ...(await this.wrap(dek, context)) };
  }

  async wrap(dek: Buffer, context: EncryptionContext): Promise<WrappedKey> {
    const ref = await this.current();
    return { ref, wrapped: gcmWrap(await this.kek(ref.version), dek, dekWrapAad(ref, context)) };
  }

  async unwrap(ref: KekRef, wrapped: Buffer, context: EncryptionContext): Promise<Buffer> {
    if (ref.provider !== "local" || ref.keyId !== this.registry.keyId) throw new DecryptionFailed();
    return gcmUnwrap(await this.kek(ref.version), wrapped, dekWrapAad(ref, context));
  }

  async rotate(): Promise<KekRef> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const version = await this.registry.nextVersion();
      if (await this.createVersion(version)) {
        this.o.log.info({ kek: `local/${this.registry.keyId}#v${version}` }, "KEK rotated: new DEKs are wrapped by the new version");
        return this.ref(version);
      }
    }
    throw new KekUnavailableError("local KEK: could not create a new version (concurrent rotations)");
  }

  async retire(ref: KekRef): Promise<void> {
    await this.registry.retire(ref.version, new Date(this.o.clock.now()));
    zeroize(this.keks.get(ref.version));
    this.keks.delete(ref.version);
  }

  versions(): Promise<KekVersionInfo[]> {
    return this.registry.infos();
  }

  /**
   * Makes `masterKey` current and re-wraps every KEK version row under it,
   * unwrapping with whichever earlier master key wrapped it. Idempotent and
   * safe on several instances at once (each update is conditional on the old
   * check value). Returns how many rows this call re-wrapped.
   */
  async rewrapMasterKey(masterKey: Buffer): Promise<number> {
    this.adoptMaster(masterKey);
    return this.rewrapOldMasterRows();
  }

  /** Re-wraps the rows still under an earlier master key this process knows (`rampart keys rewrap` runs it too). */
  async rewrapOldMasterRows(): Promise<number> {
    const check = this.currentCheck;
    const newKey = this.masters.get(check)!;
    let n = 0;
    for (const row of await this.registry.list()) {
      if (row.wrapped_key === null || row.master_key_check === null || row.master_key_check === check) continue;
      const old = this.masters.get(row.master_key_check);
      if (!old) {
        this.o.log.error({ version: row.version, check: row.master_key_check }, "local KEK version wrapped by an unknown master key: set master-key-previous to re-wrap it");
        continue;
      }
      const aad = kekWrapAad(this.ref(row.version));
      const material = gcmUnwrap(old, asBuffer(row.wrapped_key), aad);
      const res = await this.o.db
        .updateTable("rampart_kek_versions")
        .set({ wrapped_key: gcmWrap(newKey, material, aad), master_key_check: check })
        .where("provider", "=", "local")
        .where("key_id", "=", this.registry.keyId)
        .where("version", "=", row.version)
        .where("master_key_check", "=", row.master_key_check)
        .executeTakeFirst();
      zeroize(material);
      n += Number(res.numUpdatedRows);
    }
    if (n > 0) this.o.log.info({ rows: n }, "master key replaced: local KEK versions re-wrapped");
    return n;
  }

  /** Rows still wrapped by a master key other than the current one (for keysStatus). */
  async rowsUnderOldMasterKeys(): Promise<number> {
    return (await this.registry.list()).filter((r) => r.master_key_check !== null && r.master_key_check !== this.currentCheck).length;
  }

  async close(): Promise<void> {
    for (const k of this.keks.values()) zeroize(k);
    this.keks.clear();
    for (const k of this.masters.values()) zeroize(k);
    this.masters.clear();
  }
}
