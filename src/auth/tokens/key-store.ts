/**
 * Persistence of signing keys in `rampart_signing_keys` (migration 0004). The
 * rows are the one source of truth every instance converges on; the state
 * changes here are conditional updates in one transaction, and a partial
 * unique index keeps at most one `active` row whatever races.
 */
import type { Kysely, Selectable } from "kysely";
import type { SigningKeysTable, Tables } from "../../db/tables.js";

export type SigningKeyState = "pending" | "active" | "retired";

/** One stored key, with times as epoch milliseconds. */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly state: SigningKeyState;
  readonly publicJwk: string;
  readonly privateKeySealed: string;
  readonly createdAt: number;
  /** When the key signs at the earliest (a pending key is published until then). */
  readonly activatesAt: number;
  readonly activatedAt: number | null;
  readonly retiredAt: number | null;
  /** A retired key is published and verifies until then. */
  readonly publishUntil: number | null;
}

const ms = (d: Date | null): number | null => (d === null ? null : d.getTime());

function toRecord(r: Selectable<SigningKeysTable>): SigningKeyRecord {
  return {
    kid: r.kid,
    state: r.state,
    publicJwk: r.public_jwk,
    privateKeySealed: r.private_key_sealed,
    createdAt: r.created_at.getTime(),
    activatesAt: r.activates_at.getTime(),
    activatedAt: ms(r.activated_at),
    retiredAt: ms(r.retired_at),
    publishUntil: ms(r.publish_until),
  };
}

/** Every stored key, oldest first. */
export async function listSigningKeys(db: Kysely<Tables>): Promise<SigningKeyRecord[]> {
  const rows = await db.selectFrom("rampart_signing_keys").selectAll().orderBy("activates_at").orderBy("kid").execute();
  return rows.map(toRecord);
}

/** Stores a new key as `pending` (or `active` when none signs yet). */
export async function insertSigningKey(
  db: Kysely<Tables>,
  key: { kid: string; state: "pending" | "active"; publicJwk: string; privateKeySealed: string; createdAt: number; activatesAt: number },
): Promise<void> {
  await db
    .insertInto("rampart_signing_keys")
    .values({
      kid: key.kid,
      alg: "EdDSA",
      state: key.state,
      public_jwk: key.publicJwk,
      private_key_sealed: key.privateKeySealed,
      created_at: new Date(key.createdAt),
      activates_at: new Date(key.activatesAt),
      activated_at: key.state === "active" ? new Date(key.activatesAt) : null,
    })
    .execute();
}

/**
 * Makes a pending key the active one at `at`, retiring the current active key
 * (published until `publishUntil`). Returns false when the key is no longer
 * pending (another instance promoted it first).
 */
export async function promoteSigningKey(db: Kysely<Tables>, kid: string, at: number, publishUntil: number): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const pending = await tx.selectFrom("rampart_signing_keys").select("kid").where("kid", "=", kid).where("state", "=", "pending").forUpdate().executeTakeFirst();
    if (!pending) return false;
    await tx
      .updateTable("rampart_signing_keys")
      .set({ state: "retired", retired_at: new Date(at), publish_until: new Date(publishUntil) })
      .where("state", "=", "active")
      .execute();
    await tx.updateTable("rampart_signing_keys").set({ state: "active", activated_at: new Date(at) }).where("kid", "=", kid).execute();
    return true;
  });
}

/** Removes a key at once (emergency rotation after a compromise). */
export async function deleteSigningKey(db: Kysely<Tables>, kid: string): Promise<void> {
  await db.deleteFrom("rampart_signing_keys").where("kid", "=", kid).execute();
}

/** Removes retired keys whose publication window has ended; returns how many. */
export async function deleteExpiredSigningKeys(db: Kysely<Tables>, now: number): Promise<number> {
  const res = await db.deleteFrom("rampart_signing_keys").where("state", "=", "retired").where("publish_until", "<=", new Date(now)).executeTakeFirst();
  return Number(res.numDeletedRows);
}
