/**
 * The KEK version registry in `rampart_kek_versions`, shared by the providers
 * whose versions Rampart manages itself (`local`, `pkcs11`). All instances read
 * the current version from here, so a rotation on one is seen by every other
 * the next time it wraps a DEK. Inserts are `on conflict do nothing`: of any
 * number of instances creating the same version, one row wins.
 */
import type { Kysely, Selectable } from "kysely";
import type { KekVersionsTable, Tables } from "../../db/tables.js";
import type { KekProviderName, KekVersionInfo } from "./types.js";

export type KekVersionRow = Selectable<KekVersionsTable>;

export class KekRegistry {
  constructor(
    private readonly db: Kysely<Tables>,
    readonly provider: KekProviderName,
    readonly keyId: string,
  ) {}

  private base() {
    return this.db.selectFrom("rampart_kek_versions").selectAll().where("provider", "=", this.provider).where("key_id", "=", this.keyId);
  }

  /** The highest active version, or undefined before the first. */
  async current(): Promise<KekVersionRow | undefined> {
    return this.base().where("state", "=", "active").orderBy("version", "desc").limit(1).executeTakeFirst();
  }

  async get(version: number): Promise<KekVersionRow | undefined> {
    return this.base().where("version", "=", version).executeTakeFirst();
  }

  async list(): Promise<KekVersionRow[]> {
    return this.base().orderBy("version", "asc").execute();
  }

  /** The version after every existing one (retired included: numbers are never reused). */
  async nextVersion(): Promise<number> {
    const row = await this.db
      .selectFrom("rampart_kek_versions")
      .select((eb) => eb.fn.max("version").as("max"))
      .where("provider", "=", this.provider)
      .where("key_id", "=", this.keyId)
      .executeTakeFirst();
    return (row?.max ?? 0) + 1;
  }

  /** Inserts a version; false when another instance inserted it first. */
  async insert(version: number, wrappedKey: Buffer | null = null, masterKeyCheck: string | null = null): Promise<boolean> {
    const res = await this.db
      .insertInto("rampart_kek_versions")
      .values({ provider: this.provider, key_id: this.keyId, version, wrapped_key: wrappedKey, master_key_check: masterKeyCheck })
      .onConflict((oc) => oc.columns(["provider", "key_id", "version"]).doNothing())
      .returning("version")
      .executeTakeFirst();
    return res !== undefined;
  }

  /** Marks a version retired and drops any stored key material. */
  async retire(version: number, now: Date): Promise<void> {
    await this.db
      .updateTable("rampart_kek_versions")
      .set({ state: "retired", wrapped_key: null, retired_at: now })
      .where("provider", "=", this.provider)
      .where("key_id", "=", this.keyId)
      .where("version", "=", version)
      .execute();
  }

  async infos(): Promise<KekVersionInfo[]> {
    return (await this.list()).map((r) => ({
      ref: { provider: this.provider, keyId: this.keyId, version: r.version },
      state: r.state,
      createdAt: r.created_at,
      ...(r.retired_at ? { retiredAt: r.retired_at } : {}),
    }));
  }
}
