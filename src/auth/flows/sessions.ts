/** Refresh (rotation with reuse detection), logout, logout-all and the session list. */
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import { tokenPair, type TokenPair } from "./common.js";

export async function refresh(identity: Identity, refreshToken: string): Promise<TokenPair> {
  const outcome = await identity.sessions.rotate(refreshToken);
  // The reuse was recorded (event + audit) in the transaction that revoked the session.
  if (outcome.kind === "reused") throw new RampartError("REFRESH_TOKEN_REUSED");
  return tokenPair(identity, outcome.userId, outcome.sessionId, outcome.refreshToken);
}

export async function logout(identity: Identity, userId: string, sessionId: string): Promise<void> {
  await identity.sessions.revoke([sessionId], "logout");
  await identity.runtime.events.emit("auth.logout", { actor: { type: "user", id: userId }, target: `session:${sessionId}` });
}

export async function logoutAll(identity: Identity, userId: string, reason = "logout-all", actor: "user" | "admin" = "user", actorId = userId): Promise<number> {
  return identity.sessions.revokeAllOf(userId, reason, {
    audit: (trx, count) => identity.runtime.events.emit("auth.sessions.revoked", { actor: { type: actor, id: actorId }, target: `user:${userId}`, data: { reason, count } }, trx),
  });
}

export async function deleteSession(identity: Identity, userId: string, sessionId: string): Promise<void> {
  if (!(await identity.sessions.find(userId, sessionId))) throw new RampartError("NOT_FOUND", { message: "No such session." });
  await identity.sessions.revoke([sessionId], "deleted", (trx, count) =>
    identity.runtime.events.emit("auth.sessions.revoked", { actor: { type: "user", id: userId }, target: `session:${sessionId}`, data: { reason: "deleted", count } }, trx),
  );
}
