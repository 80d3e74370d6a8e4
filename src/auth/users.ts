/**
 * Users at rest: email and display name are envelope-encrypted under the
 * user's own key (crypto-shredding erases them), and the email is found
 * through a keyed blind index, never by plaintext. Profiles read on hot paths
 * (GET /v1/me) are cached per instance and invalidated on every instance
 * through kv pub/sub when a user changes.
 */
import { randomUUID } from "node:crypto";
import type { Insertable, Kysely, Transaction } from "kysely";
import type { BlindIndex, Keyring } from "../crypto/index.js";
import type { Tables } from "../db/index.js";
import type { UsersTable } from "../db/tables.js";
import type { KvStore, Unsubscribe } from "../kv/index.js";

export type Db = Kysely<Tables> | Transaction<Tables>;

export interface UserProfile {
  id: string;
  email: string;
  name: string | null;
  roles: string[];
  status: "active" | "disabled" | "erased";
  mfaEnabled: boolean;
  /** The owner proved control of the address (or an operator created the account). */
  emailVerified: boolean;
  createdAt: string;
  updatedAt: string;
}

export const EMAIL_INDEX = "users.email";
const CHANGED_CHANNEL = "users:changed";

export function emailContext(id: string): Record<string, string> {
  return { table: "rampart_users", column: "email", id };
}
export function nameContext(id: string): Record<string, string> {
  return { table: "rampart_users", column: "name", id };
}

export class Users {
  private readonly cache = new Map<string, { profile: UserProfile; expiresAt: number }>();
  private unsubscribe: Unsubscribe | undefined;

  private constructor(
    private readonly db: Kysely<Tables>,
    private readonly keyring: Keyring,
    private readonly kv: KvStore,
    readonly emailIndex: BlindIndex,
    private readonly now: () => number,
    private readonly cacheSize: number,
    private readonly cacheTtlMs: number,
  ) {}

  static async create(opts: { db: Kysely<Tables>; keyring: Keyring; kv: KvStore; now: () => number; cacheSize?: number; cacheTtlMs?: number }): Promise<Users> {
    const index = await opts.keyring.blindIndex(EMAIL_INDEX, { normalize: "email" });
    const users = new Users(opts.db, opts.keyring, opts.kv, index, opts.now, opts.cacheSize ?? 10_000, opts.cacheTtlMs ?? 60_000);
    users.unsubscribe = await opts.kv.subscribe(CHANGED_CHANNEL, (id) => users.cache.delete(id));
    return users;
  }

  /** The lookup key of an email (also the lockout key): its blind index. */
  emailKey(email: string): string {
    return this.emailIndex.compute(email);
  }

  normalizeEmail(email: string): string {
    return this.emailIndex.normalize(email);
  }

  /**
   * Builds a new user's row: a fresh id, and the email encrypted under that
   * user's own key (created here). Call it before opening the transaction
   * that inserts the row — the keyring uses the database itself, and the
   * embedded database has one connection. `discard` shreds the key again when
   * the insert does not happen.
   */
  async prepare(input: { email: string; passwordHash: string | null; roles: string[] }): Promise<{ row: Insertable<UsersTable>; discard: () => Promise<void> }> {
    const id = randomUUID();
    const email = this.normalizeEmail(input.email);
    const row: Insertable<UsersTable> = {
      id,
      email_enc: await this.keyring.encryptFor(id, email, emailContext(id)),
      email_bidx: this.emailKey(email),
      password_hash: input.passwordHash,
      roles: input.roles,
      password_changed_at: new Date(this.now()),
    };
    return { row, discard: async () => void (await this.keyring.shred(id)) };
  }

  findByEmail(db: Db, email: string) {
    return db.selectFrom("rampart_users").selectAll().where("email_bidx", "=", this.emailKey(email)).executeTakeFirst();
  }

  findById(db: Db, id: string) {
    return db.selectFrom("rampart_users").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** The decrypted profile, from the per-instance cache when fresh. */
  async profile(id: string): Promise<UserProfile | undefined> {
    const hit = this.cache.get(id);
    const now = this.now();
    if (hit && hit.expiresAt > now) {
      // LRU: re-insert on use so eviction drops the least recently read.
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit.profile;
    }
    const row = await this.findById(this.db, id);
    if (!row || row.status === "erased" || !row.email_enc) return undefined;
    const profile = await this.decryptProfile(row);
    this.cache.set(id, { profile, expiresAt: now + this.cacheTtlMs });
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return profile;
  }

  async decryptProfile(row: { id: string; email_enc: string | null; name_enc: string | null; roles: string[]; status: UserProfile["status"]; mfa_enabled: boolean; email_verified_at: Date | null; created_at: Date; updated_at: Date }): Promise<UserProfile> {
    const email = row.email_enc ? await this.keyring.decryptStringFor(row.id, row.email_enc, emailContext(row.id)) : "";
    const name = row.name_enc ? await this.keyring.decryptStringFor(row.id, row.name_enc, nameContext(row.id)) : null;
    return {
      id: row.id,
      email,
      name,
      roles: row.roles,
      status: row.status,
      mfaEnabled: row.mfa_enabled,
      emailVerified: row.email_verified_at !== null,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  }

  encryptName(id: string, name: string): Promise<string> {
    return this.keyring.encryptFor(id, name, nameContext(id));
  }

  /** Drops the cached profile on every instance; call after any change to a user. */
  async changed(id: string): Promise<void> {
    this.cache.delete(id);
    await this.kv.publish(CHANGED_CHANNEL, id).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.unsubscribe?.();
    this.cache.clear();
  }
}
