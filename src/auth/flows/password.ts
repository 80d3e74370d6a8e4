/**
 * Password change, forgot and reset. A change needs the current password
 * (through the lockout counter, like a login), ends every other session and
 * spends every outstanding reset link (a link mailed before the change must
 * not undo it); a reset uses a single-use, hashed, 30-minute token mailed
 * through the outbox, ends every session and revokes every API key (recovery
 * must leave an intruder nothing, including keys minted with a stolen
 * session), and never bypasses MFA (it does not log the user in).
 * Forgot answers the same whether or not the email has an account, and does
 * its work after the response so the timing does not tell either.
 */
import { randomUUID } from "node:crypto";
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { reauthenticate } from "../reauth.js";
import { hashToken, newOpaqueToken } from "../sessions.js";
import { spendAllTokens, spendToken } from "../stores/one-time-tokens.js";
import { revokeKeysIn } from "./api-keys.js";
import { emailInputs } from "./register.js";

export async function changePassword(identity: Identity, userId: string, sessionId: string | undefined, input: { currentPassword: string; newPassword: string; code?: string }): Promise<{ sessionsRevoked: number }> {
  const { runtime, hasher, policy, users, sessions } = identity;
  // The current password (account lockout), and a code when MFA is on: src/auth/reauth.ts.
  await reauthenticate(identity, userId, { password: input.currentPassword, code: input.code }, { action: "password.change" });
  const profile = await users.profile(userId);
  const normalized = await policy.assertAcceptable(input.newPassword, { userInputs: emailInputs(profile?.email ?? ""), path: "body.newPassword" });
  const hash = await hasher.hash(normalized);
  const now = new Date(runtime.clock.now());
  const others = await sessions.liveIds(userId, sessionId);
  const sessionsRevoked = await runtime.db.kysely.transaction().execute(async (trx) => {
    await trx.updateTable("rampart_users").set({ password_hash: hash, password_changed_at: now, updated_at: now }).where("id", "=", userId).execute();
    const n = await sessions.markRevoked(trx, others, "password-changed");
    const links = await spendAllTokens(trx, "rampart_password_resets", userId, now);
    await runtime.events.emit("auth.password.changed", { actor: { type: "user", id: userId }, target: `user:${userId}`, data: { sessionsRevoked: n, resetLinksRevoked: links } }, trx);
    return n;
  });
  await sessions.publish(others);
  return { sessionsRevoked };
}

/** Starts a reset in the background; the caller answers 202 at once, whatever the email. */
export function forgotPassword(identity: Identity, email: string): void {
  identity.track(
    sendResetMail(identity, email).catch((err: unknown) => identity.runtime.log.error({ err }, "password reset mail could not be queued")),
  );
}

async function sendResetMail(identity: Identity, email: string): Promise<void> {
  const { runtime, users, outbox } = identity;
  const user = await users.findByEmail(runtime.db.kysely, email);
  if (!user || user.status !== "active") return;
  const profile = await users.profile(user.id);
  if (!profile) return;
  const token = newOpaqueToken();
  const now = runtime.clock.now();
  const ttlMinutes = runtime.config.passwordResetTtlMinutes;
  // Built from the configured public URL, never from the request's Host header.
  const link = `${runtime.config.publicUrl}/reset-password?token=${encodeURIComponent(token)}`;
  const mail = await outbox.prepare(user.id, "password-reset", {
    to: profile.email,
    subject: "Reset your password",
    text: `Someone asked to reset the password of your account.\n\nTo choose a new password, open this link within ${ttlMinutes} minutes:\n\n${link}\n\nIf it was not you, ignore this message; your password stays the same.\n`,
  });
  await runtime.db.kysely.transaction().execute(async (trx) => {
    await trx
      .insertInto("rampart_password_resets")
      .values({ id: randomUUID(), user_id: user.id, token_hash: hashToken(token), created_at: new Date(now), expires_at: new Date(now + ttlMinutes * 60_000) })
      .execute();
    await outbox.enqueue(trx, mail);
  });
  await runtime.events.emit("auth.password.reset.requested", { actor: { type: "anonymous" }, target: `user:${user.id}` });
  await outbox.kick();
}

export async function resetPassword(identity: Identity, input: { token: string; newPassword: string }): Promise<{ sessionsRevoked: number; apiKeysRevoked: number }> {
  const { runtime, hasher, policy, users, sessions } = identity;
  const tokenHash = hashToken(input.token);
  const now = new Date(runtime.clock.now());
  const pending = await runtime.db.kysely
    .selectFrom("rampart_password_resets")
    .select(["user_id"])
    .where("token_hash", "=", tokenHash)
    .where("used_at", "is", null)
    .where("expires_at", ">", now)
    .executeTakeFirst();
  const invalid = () => new RampartError("VALIDATION_FAILED", { message: "The reset link is invalid or has expired.", details: { fields: [{ path: "body.token", message: "is invalid or expired" }] } });
  if (!pending) throw invalid();
  // Check the new password before spending the token, so a weak choice can be retried.
  const profile = await users.profile(pending.user_id);
  const normalized = await policy.assertAcceptable(input.newPassword, { userInputs: emailInputs(profile?.email ?? ""), path: "body.newPassword" });
  const hash = await hasher.hash(normalized);
  let sessionIds: string[] = [];
  const result = await runtime.db.kysely.transaction().execute(async (trx) => {
    const userId = await spendToken(trx, "rampart_password_resets", tokenHash, now);
    if (userId === undefined) return undefined;
    await trx.updateTable("rampart_users").set({ password_hash: hash, password_changed_at: now, updated_at: now }).where("id", "=", userId).where("status", "=", "active").execute();
    // Every other outstanding reset link of this user dies with this one.
    await spendAllTokens(trx, "rampart_password_resets", userId, now);
    // Sessions are read here, after the user row above is locked, not before the transaction: one
    // opened meanwhile is ended too, and a key being minted meanwhile commits first and is revoked below.
    const live = await trx.selectFrom("rampart_sessions").select("id").where("user_id", "=", userId).where("revoked_at", "is", null).where("expires_at", ">", now).forUpdate().execute();
    sessionIds = live.map((r) => r.id);
    const n = await sessions.markRevoked(trx, sessionIds, "password-reset");
    const actor = { type: "user" as const, id: userId };
    const keys = await revokeKeysIn(trx, runtime, userId, { all: true }, "password-reset", actor);
    await runtime.events.emit("auth.password.reset", { actor, target: `user:${userId}`, data: { sessionsRevoked: n, apiKeysRevoked: keys.length } }, trx);
    return { userId: userId, sessionsRevoked: n, apiKeysRevoked: keys.length };
  });
  if (!result) throw invalid();
  await sessions.publish(sessionIds);
  await identity.lockout.unlock(users.emailKey(profile?.email ?? "")).catch(() => false);
  return { sessionsRevoked: result.sessionsRevoked, apiKeysRevoked: result.apiKeysRevoked };
}
