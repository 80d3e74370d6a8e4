/**
 * Roles and permissions. Permissions are `resource:action` strings; the
 * built-in roles map to sets of them. Route guards check permissions (never
 * role names), and API keys narrow a user's permissions to their scopes.
 *
 * A route requires the permission of everything it returns; bulk exports
 * need their own permission (`me:export`, `users:export`) on top of the read
 * permission of every section, so an API key only gets them when its scopes
 * name them. Some permissions are never an API key's at all (SESSION_ONLY).
 */

export const PERMISSIONS = [
  "me:read",
  "me:write",
  "me:export",
  "sessions:read",
  "sessions:write",
  "api-keys:read",
  "api-keys:write",
  "mfa:write",
  "files:read",
  "files:write",
  "users:read",
  "users:write",
  "users:export",
  "users:unlock",
  "users:disable",
  "users:roles",
  "users:sessions",
  "audit:read",
  "usage:read",
  "webhooks:read",
  "webhooks:write",
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const USER: Permission[] = ["me:read", "me:write", "me:export", "sessions:read", "sessions:write", "api-keys:read", "api-keys:write", "mfa:write", "files:read", "files:write"];

export const ROLES: Record<string, readonly Permission[]> = {
  user: USER,
  admin: [...PERMISSIONS],
};

export const ROLE_NAMES = Object.keys(ROLES);

/**
 * Permissions only a login session holds: an API key can neither be created
 * with them nor use them. `mfa:write` binds a second factor to the account; a
 * key that could enroll one would turn a scoped, revocable credential into a
 * factor that guards every future login (and locks the owner out).
 */
export const SESSION_ONLY: ReadonlySet<Permission> = new Set<Permission>(["mfa:write"]);

/** The union of the permissions of `roles`; unknown role names grant nothing. */
export function permissionsOf(roles: readonly string[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of roles) for (const p of ROLES[r] ?? []) out.add(p);
  return out;
}

export function isPermission(s: string): s is Permission {
  return (PERMISSIONS as readonly string[]).includes(s);
}
