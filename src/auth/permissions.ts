/**
 * Roles and permissions. Permissions are `resource:action` strings; the
 * built-in roles map to sets of them. Route guards check permissions (never
 * role names), and API keys narrow a user's permissions to their scopes.
 */

export const PERMISSIONS = [
  "me:read",
  "me:write",
  "sessions:read",
  "sessions:write",
  "api-keys:read",
  "api-keys:write",
  "mfa:write",
  "files:read",
  "files:write",
  "users:read",
  "users:write",
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

const USER: Permission[] = ["me:read", "me:write", "sessions:read", "sessions:write", "api-keys:read", "api-keys:write", "mfa:write", "files:read", "files:write"];

export const ROLES: Record<string, readonly Permission[]> = {
  user: USER,
  admin: [...PERMISSIONS],
};

export const ROLE_NAMES = Object.keys(ROLES);

/** The union of the permissions of `roles`; unknown role names grant nothing. */
export function permissionsOf(roles: readonly string[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of roles) for (const p of ROLES[r] ?? []) out.add(p);
  return out;
}

export function isPermission(s: string): s is Permission {
  return (PERMISSIONS as readonly string[]).includes(s);
}
