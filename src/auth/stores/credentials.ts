/**
 * Persistence of a user's password credential: what a re-authentication
 * reads (hash, lockout key, status, whether MFA is on) and the rehash done
 * after a login with outdated argon2 parameters.
 */
import type { Kysely } from "kysely";
import type { Tables } from "../../db/index.js";

export interface CredentialState {
  passwordHash: string | null;
  /** The email's blind index: the login lockout key. Null once erased. */
  emailKey: string | null;
  status: "active" | "disabled" | "erased";
  mfaEnabled: boolean;
}

export interface CredentialStore {
  /** The user's credential state; undefined for an unknown user. */
  read(userId: string): Promise<CredentialState | undefined>;
  /**
   * Replaces the hash only while it is still `previousHash` (compare-and-set):
   * a password changed meanwhile is never overwritten by the old one rehashed.
   * Resolves whether the upgrade was written.
   */
  upgradeHash(userId: string, previousHash: string, upgradedHash: string): Promise<boolean>;
}

/** The CredentialStore over the users table. */
export function createCredentialStore(db: Kysely<Tables>): CredentialStore {
  return {
    async read(userId) {
      const row = await db.selectFrom("rampart_users").select(["password_hash", "email_bidx", "status", "mfa_enabled"]).where("id", "=", userId).executeTakeFirst();
      return row ? { passwordHash: row.password_hash, emailKey: row.email_bidx, status: row.status, mfaEnabled: row.mfa_enabled } : undefined;
    },
    async upgradeHash(userId, previousHash, upgradedHash) {
      const res = await db.updateTable("rampart_users").set({ password_hash: upgradedHash }).where("id", "=", userId).where("password_hash", "=", previousHash).executeTakeFirst();
      return res.numUpdatedRows === 1n;
    },
  };
}
