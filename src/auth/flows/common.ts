/** Pieces shared by the identity flows: the token pair a login returns, actors, client info. */
import type { Actor } from "../../events/index.js";
import { RampartError } from "../../errors/index.js";
import type { Identity } from "../identity.js";
import type { ClientInfo } from "../sessions.js";
import type { UserProfile } from "../users.js";

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: "Bearer";
  expiresIn: number;
  user: PublicUser;
}

export interface PublicUser {
  id: string;
  email: string;
  name: string | null;
  roles: string[];
  mfaEnabled: boolean;
  emailVerified: boolean;
  createdAt: string;
}

export function publicUser(p: UserProfile): PublicUser {
  return { id: p.id, email: p.email, name: p.name, roles: p.roles, mfaEnabled: p.mfaEnabled, emailVerified: p.emailVerified, createdAt: p.createdAt };
}

export async function tokenPair(identity: Identity, userId: string, sessionId: string, refreshToken: string): Promise<TokenPair> {
  const profile = await identity.users.profile(userId);
  if (!profile || profile.status !== "active") throw new RampartError("UNAUTHENTICATED");
  const access = await identity.tokens.issue({ sub: userId, sid: sessionId, roles: profile.roles });
  return { accessToken: access.token, refreshToken, tokenType: "Bearer", expiresIn: access.expiresIn, user: publicUser(profile) };
}

/** Creates a session (in its own transaction) and returns the token pair. */
export async function startSession(identity: Identity, userId: string, client: ClientInfo, mfa: boolean): Promise<TokenPair> {
  const { sessionId, refreshToken } = await identity.sessions.create(identity.runtime.db.kysely, userId, client, mfa);
  return tokenPair(identity, userId, sessionId, refreshToken);
}

export function userActor(userId: string): Actor {
  return { type: "user", id: userId };
}

/** Seconds for a Retry-After header, rounded up. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}
