/**
 * The authenticated caller. An access token and an API key both resolve to a
 * Principal; guards only look at its permissions (an API key's are the
 * intersection of its owner's and its scopes).
 */
import type { Permission } from "./permissions.js";

export interface Principal {
  kind: "session" | "api-key";
  userId: string;
  roles: readonly string[];
  permissions: ReadonlySet<Permission>;
  /** Session id (`sid`) for access tokens. */
  sessionId?: string;
  /** API key id for API keys. */
  apiKeyId?: string;
  /** Scopes of an API key (empty for sessions). */
  scopes: readonly string[];
}

export function can(principal: Principal, permission: Permission): boolean {
  return principal.permissions.has(permission);
}
