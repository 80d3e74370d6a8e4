/**
 * Persistence of a user's second factor: the TOTP secret (current and
 * pending enrollment, both rp1 ciphertexts), the last TOTP step accepted and
 * the backup-code hashes. Every write that must happen once is a conditional
 * statement whose row count is the answer, so the semantics below hold on
 * PGlite and on PostgreSQL with any number of instances.
 */
import type { Kysely, Transaction } from "kysely";
import type { Tables } from "../../db/index.js";

type Trx = Transaction<Tables>;
/** Writes that belong with a change (an audit event) run inside its transaction. */
export type InTransaction = (trx: Trx) => Promise<void>;

export interface SecondFactorState {
  mfaEnabled: boolean;
  /** The confirmed TOTP secret (ciphertext), null when MFA is off. */
  secretEnc: string | null;
  /** A secret awaiting its first code (ciphertext), null when no enrollment is pending. */
  pendingEnc: string | null;
}

export interface SecondFactorStore {
  /** The user's second-factor state; undefined for an unknown user. */
  read(userId: string): Promise<SecondFactorState | undefined>;
  /**
   * Compare-and-set on the user's last accepted TOTP step: true exactly when
   * `step` is later than every step accepted before for this user (of N
   * concurrent callers with the same step, exactly one gets true; an earlier
   * step after a later one gets false).
   */
  claimTotpStep(userId: string, step: number): Promise<boolean>;
  /**
   * Spends the unused backup code with this hash: exactly one concurrent
   * caller gets true, and a spent code stays spent. `then` runs in the same
   * transaction when (and only when) the code was spent.
   */
  spendBackupCode(userId: string, codeHash: string, at: Date, then?: InTransaction): Promise<boolean>;
  /** Stores a pending secret (replacing any earlier one). */
  setPending(userId: string, pendingEnc: string, at: Date): Promise<void>;
  /**
   * Turns MFA on with `secretEnc` and replaces the backup codes, in one
   * transaction; false (nothing written) when MFA was already on, so of two
   * concurrent confirmations one wins.
   */
  enable(userId: string, secretEnc: string, codeHashes: readonly string[], at: Date, then?: InTransaction): Promise<boolean>;
  /** Turns MFA off and deletes the secret and every backup code, in one transaction. */
  disable(userId: string, at: Date, then?: InTransaction): Promise<void>;
  /** Replaces every backup code of the user, in one transaction. */
  replaceBackupCodes(userId: string, codeHashes: readonly string[], then?: InTransaction): Promise<void>;
}

async function writeCodes(trx: Trx, userId: string, codeHashes: readonly string[]): Promise<void> {
  await trx.deleteFrom("rampart_backup_codes").where("user_id", "=", userId).execute();
  if (codeHashes.length > 0) await trx.insertInto("rampart_backup_codes").values(codeHashes.map((code_hash) => ({ user_id: userId, code_hash }))).execute();
}

/** The SecondFactorStore over the identity tables. */
export function createSecondFactorStore(db: Kysely<Tables>): SecondFactorStore {
  return {
    async read(userId) {
      const row = await db.selectFrom("rampart_users").select(["mfa_enabled", "totp_secret_enc", "totp_pending_enc"]).where("id", "=", userId).executeTakeFirst();
      return row ? { mfaEnabled: row.mfa_enabled, secretEnc: row.totp_secret_enc, pendingEnc: row.totp_pending_enc } : undefined;
    },

    async claimTotpStep(userId, step) {
      const res = await db
        .updateTable("rampart_users")
        .set({ totp_last_step: step })
        .where("id", "=", userId)
        .where((eb) => eb.or([eb("totp_last_step", "is", null), eb("totp_last_step", "<", step)]))
        .executeTakeFirst();
      return res.numUpdatedRows === 1n;
    },

    spendBackupCode(userId, codeHash, at, then) {
      return db.transaction().execute(async (trx) => {
        const spent = await trx.updateTable("rampart_backup_codes").set({ used_at: at }).where("user_id", "=", userId).where("code_hash", "=", codeHash).where("used_at", "is", null).executeTakeFirst();
        if (spent.numUpdatedRows !== 1n) return false;
        await then?.(trx);
        return true;
      });
    },

    async setPending(userId, pendingEnc, at) {
      await db.updateTable("rampart_users").set({ totp_pending_enc: pendingEnc, updated_at: at }).where("id", "=", userId).execute();
    },

    enable(userId, secretEnc, codeHashes, at, then) {
      return db.transaction().execute(async (trx) => {
        const done = await trx
          .updateTable("rampart_users")
          .set({ totp_secret_enc: secretEnc, totp_pending_enc: null, mfa_enabled: true, updated_at: at })
          .where("id", "=", userId)
          .where("mfa_enabled", "=", false)
          .executeTakeFirst();
        if (done.numUpdatedRows !== 1n) return false;
        await writeCodes(trx, userId, codeHashes);
        await then?.(trx);
        return true;
      });
    },

    async disable(userId, at, then) {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable("rampart_users").set({ mfa_enabled: false, totp_secret_enc: null, totp_pending_enc: null, updated_at: at }).where("id", "=", userId).execute();
        await trx.deleteFrom("rampart_backup_codes").where("user_id", "=", userId).execute();
        await then?.(trx);
      });
    },

    async replaceBackupCodes(userId, codeHashes, then) {
      await db.transaction().execute(async (trx) => {
        await writeCodes(trx, userId, codeHashes);
        await then?.(trx);
      });
    },
  };
}
