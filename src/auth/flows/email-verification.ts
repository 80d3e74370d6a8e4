/**
 * Email verification. A link carries a 256-bit random token; only its SHA-256
 * is stored, with an expiry, and the mail goes through the outbox in the same
 * transaction as the token row (a rolled-back change mails nothing). Using a
 * token spends every outstanding token of its user in one transaction.
 *
 * Resend takes an email address and answers the same whatever it names (the
 * caller answers 202 at once; the work runs after the response), so it
 * reveals nothing about which accounts exist — and it works for an account
 * that cannot log in yet because AUTH_REQUIRE_EMAIL_VERIFICATION is on.
 */
import { randomUUID } from "node:crypto";
import type { Transaction } from "kysely";
import type { Tables } from "../../db/index.js";
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { hashToken, newOpaqueToken } from "../sessions.js";
import { spendAllTokens, spendToken } from "../stores/one-time-tokens.js";

/** A resend within this time of the previous link sends nothing (a flood of requests cannot flood a mailbox). */
export const RESEND_COOLDOWN_MS = 60_000;

/** Writes a prepared token and its mail inside the caller's transaction. */
export type VerificationWriter = (trx: Transaction<Tables>) => Promise<void>;

/**
 * Prepares a verification link for `userId` at `email`: the mail is encrypted
 * now (the keyring may use the database, which a transaction holds in
 * embedded mode); the returned writer inserts the token and queues the mail.
 */
export async function prepareVerification(identity: Identity, userId: string, email: string): Promise<VerificationWriter> {
  const { runtime, outbox } = identity;
  const token = newOpaqueToken();
  const now = runtime.clock.now();
  const ttlHours = runtime.config.emailVerificationTtlHours;
  // Built from the configured public URL, never from the request's Host header.
  const link = `${runtime.config.publicUrl}/verify-email?token=${encodeURIComponent(token)}`;
  const mail = await outbox.prepare(userId, "email-verification", {
    to: email,
    subject: "Confirm your email address",
    text: `Welcome. To confirm that this address belongs to you, open this link within ${ttlHours} hours:\n\n${link}\n\nIf you did not create an account, ignore this message.\n`,
  });
  return async (trx) => {
    await trx
      .insertInto("rampart_email_verifications")
      .values({ id: randomUUID(), user_id: userId, token_hash: hashToken(token), created_at: new Date(now), expires_at: new Date(now + ttlHours * 3_600_000) })
      .execute();
    await outbox.enqueue(trx, mail);
  };
}

/** Starts a resend in the background; the caller answers 202 at once, whatever the email. */
export function resendVerification(identity: Identity, email: string): void {
  identity.track(
    sendVerificationMail(identity, email).catch((err: unknown) => identity.runtime.log.error({ err }, "email verification mail could not be queued")),
  );
}

async function sendVerificationMail(identity: Identity, email: string): Promise<void> {
  const { runtime, users, outbox } = identity;
  const user = await users.findByEmail(runtime.db.kysely, email);
  if (!user || user.status !== "active" || user.email_verified_at !== null) return;
  const since = new Date(runtime.clock.now() - RESEND_COOLDOWN_MS);
  const recent = await runtime.db.kysely.selectFrom("rampart_email_verifications").select("id").where("user_id", "=", user.id).where("created_at", ">", since).executeTakeFirst();
  if (recent) return;
  const profile = await users.profile(user.id);
  if (!profile) return;
  const write = await prepareVerification(identity, user.id, profile.email);
  await runtime.db.kysely.transaction().execute(async (trx) => {
    await write(trx);
    await runtime.events.emit("auth.email.verification.sent", { actor: { type: "anonymous" }, target: `user:${user.id}` }, trx);
  });
  await outbox.kick();
}

/** Marks the token's user verified and spends every outstanding token of that user. */
export async function verifyEmail(identity: Identity, token: string): Promise<{ verified: true }> {
  const { runtime, users } = identity;
  const tokenHash = hashToken(token);
  const now = new Date(runtime.clock.now());
  const userId = await runtime.db.kysely.transaction().execute(async (trx) => {
    const spentBy = await spendToken(trx, "rampart_email_verifications", tokenHash, now);
    if (spentBy === undefined) return undefined;
    const marked = await trx
      .updateTable("rampart_users")
      .set({ email_verified_at: now, updated_at: now })
      .where("id", "=", spentBy)
      .where("status", "=", "active")
      .executeTakeFirst();
    // A disabled account keeps its token: nothing is written, and the link works again once re-enabled.
    if (marked.numUpdatedRows !== 1n) throw new VerificationRefused();
    await spendAllTokens(trx, "rampart_email_verifications", spentBy, now);
    await runtime.events.emit("auth.email.verified", { actor: { type: "user", id: spentBy }, target: `user:${spentBy}` }, trx);
    return spentBy;
  }).catch((err: unknown) => {
    if (err instanceof VerificationRefused) return undefined;
    throw err;
  });
  if (userId === undefined) {
    throw new RampartError("VALIDATION_FAILED", { message: "The verification link is invalid or has expired.", details: { fields: [{ path: "body.token", message: "is invalid or expired" }] } });
  }
  await users.changed(userId);
  return { verified: true };
}

/** Rolls the verification transaction back without an error of its own reaching the client. */
class VerificationRefused extends Error {}

/**
 * With AUTH_REQUIRE_EMAIL_VERIFICATION, refuses the login of an unverified
 * account. Call it only after the password was verified: the answer then
 * tells nothing to someone who does not hold the password.
 */
export function requireVerifiedEmail(identity: Identity, user: { email_verified_at: Date | null }): void {
  if (identity.runtime.config.authRequireEmailVerification && user.email_verified_at === null) throw new RampartError("EMAIL_NOT_VERIFIED");
}
