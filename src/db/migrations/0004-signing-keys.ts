/**
 * Access-token signing keys (src/auth/tokens): Ed25519 key pairs with their
 * life cycle `pending` (published in the JWKS, not yet signing) → `active`
 * (signs) → `retired` (still published until `publish_until`, then deleted).
 * The private key is stored sealed (envelope-encrypted, bound to its kid),
 * never in plain text; a partial unique index keeps at most one active key.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rampart_signing_keys")
    .addColumn("kid", "text", (c) => c.primaryKey())
    .addColumn("alg", "text", (c) => c.notNull().check(sql`alg = 'EdDSA'`))
    .addColumn("state", "text", (c) => c.notNull().check(sql`state in ('pending', 'active', 'retired')`))
    .addColumn("public_jwk", "text", (c) => c.notNull())
    .addColumn("private_key_sealed", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("activates_at", "timestamptz", (c) => c.notNull())
    .addColumn("activated_at", "timestamptz")
    .addColumn("retired_at", "timestamptz")
    .addColumn("publish_until", "timestamptz")
    .execute();
  await sql`create unique index rampart_signing_keys_one_active on rampart_signing_keys (state) where state = 'active'`.execute(db);
}
