/**
 * Bearer authentication: `Authorization: Bearer <credential>` where the
 * credential is an access token (JWT, revocation checked on every request
 * through the shared list, no database query) or an API key (`rp_...`). Both
 * resolve to one Principal. Every failure except expiry and revocation is the
 * same 401 UNAUTHENTICATED.
 */
import { RampartError } from "../errors/index.js";
import { isApiKeyShaped } from "./api-keys/index.js";
import { apiKeyPrincipal } from "./flows/api-keys.js";
import type { Identity } from "./identity.js";
import type { Principal } from "./principal.js";

export function bearerCredential(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ ]+([^\s]{1,4096})$/i.exec(header.trim());
  return m?.[1];
}

export async function authenticate(identity: Identity, authorization: string | undefined): Promise<Principal> {
  const credential = bearerCredential(authorization);
  if (!credential) throw new RampartError("UNAUTHENTICATED", { headers: { "www-authenticate": 'Bearer realm="rampart"' } });
  if (isApiKeyShaped(credential)) {
    const principal = await apiKeyPrincipal(identity, credential);
    if (!principal) throw new RampartError("UNAUTHENTICATED", { message: "The API key is not valid.", headers: { "www-authenticate": 'Bearer realm="rampart", error="invalid_token"' } });
    return principal;
  }
  const claims = await identity.tokens.verify(credential);
  return { kind: "session", userId: claims.sub, roles: claims.roles, permissions: identity.permissions.permissionsOf(claims.roles), sessionId: claims.sid, scopes: [] };
}
