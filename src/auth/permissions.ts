/**
 * Roles and permissions. Permissions are `resource:action` strings; roles map
 * to sets of them. Route guards check permissions (never role names), and API
 * keys narrow a user's permissions to their scopes.
 *
 * The table is a registry per identity: Rampart's built-in permissions and
 * roles plus the host app's own (`permissions`, `roles`), validated once when
 * the identity is built and frozen afterwards. Every consumer (authentication,
 * API-key scopes, role changes, guards) reads that one registry.
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
  "keys:read",
] as const;

export type BuiltInPermission = (typeof PERMISSIONS)[number];

/**
 * The host app's permission names, declared by module augmentation so that
 * `guard()` accepts them:
 *
 * @example
 * declare module "rampart" {
 *   interface AppPermissions { "notes:read": true; "notes:write": true }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by the host app's declaration merging
export interface AppPermissions {}

/** A permission a guard can require: a built-in one or one the app declared. */
export type Permission = BuiltInPermission | (keyof AppPermissions & string);

/** Lower-case resource and action, letters first, then letters, digits, `-` or `_`; 64 characters each at most. */
export const PERMISSION_PATTERN = /^[a-z][a-z0-9_-]{0,63}:[a-z][a-z0-9_-]{0,63}$/;
const ROLE_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

const USER: readonly BuiltInPermission[] = ["me:read", "me:write", "me:export", "sessions:read", "sessions:write", "api-keys:read", "api-keys:write", "mfa:write", "files:read", "files:write"];

/** The built-in roles; `admin` also receives every permission the app declares. */
export const BUILT_IN_ROLES: Readonly<Record<"user" | "admin", readonly BuiltInPermission[]>> = Object.freeze({ user: USER, admin: [...PERMISSIONS] });

/**
 * Permissions only a login session holds: an API key can neither be created
 * with them nor use them. `mfa:write` binds a second factor to the account; a
 * key that could enroll one would turn a scoped, revocable credential into a
 * factor that guards every future login (and locks the owner out).
 */
export const SESSION_ONLY: ReadonlySet<BuiltInPermission> = new Set<BuiltInPermission>(["mfa:write"]);

export interface PermissionOptions {
  /** The app's own permissions (`resource:action`, lower case), in addition to the built-in ones. */
  permissions?: readonly string[];
  /**
   * New roles with their permissions (built-in or the app's), and app
   * permissions granted to the built-in `user` and `admin` roles.
   */
  roles?: Readonly<Record<string, readonly string[]>>;
}

/** Thrown when the app's permissions or roles are not valid; the message names the culprit. */
export class PermissionConfigError extends Error {
  override readonly name = "PermissionConfigError";
}

/** Distinct role combinations whose permission sets are kept (permissionsOf). */
const MAX_CACHED_UNIONS = 1024;

/** The permissions and roles of one identity, built-in and the app's, validated and frozen. */
export class PermissionRegistry {
  private readonly known: ReadonlySet<string>;
  private readonly roles: ReadonlyMap<string, ReadonlySet<Permission>>;
  private readonly builtIn: ReadonlySet<string> = new Set<string>(PERMISSIONS);

  private readonly unions = new Map<string, ReadonlySet<Permission>>();

  private constructor(known: Set<string>, roles: Map<string, Set<Permission>>) {
    this.known = known;
    this.roles = roles;
  }

  /** Validates the app's permissions and roles; throws PermissionConfigError naming what is wrong. */
  static create(options: PermissionOptions = {}): PermissionRegistry {
    const builtIn = new Set<string>(PERMISSIONS);
    const known = new Set<string>(PERMISSIONS);
    const app: string[] = [];
    for (const p of options.permissions ?? []) {
      if (typeof p !== "string" || !PERMISSION_PATTERN.test(p)) throw new PermissionConfigError(`permissions: '${String(p)}' is not a permission name (\`resource:action\` in lower case, e.g. \`notes:read\`)`);
      if (builtIn.has(p)) throw new PermissionConfigError(`permissions: '${p}' is a built-in permission; declare only the app's own`);
      if (known.has(p)) throw new PermissionConfigError(`permissions: '${p}' is declared twice`);
      known.add(p);
      app.push(p);
    }
    const roles = new Map<string, Set<Permission>>([
      ["user", new Set<Permission>(BUILT_IN_ROLES.user)],
      // An administrator holds everything, the app's permissions included.
      ["admin", new Set<Permission>([...PERMISSIONS, ...(app as Permission[])])],
    ]);
    for (const [role, granted] of Object.entries(options.roles ?? {})) {
      if (!ROLE_PATTERN.test(role)) throw new PermissionConfigError(`roles: '${role}' is not a role name (lower case letters, digits, \`-\` or \`_\`)`);
      if (!Array.isArray(granted)) throw new PermissionConfigError(`roles.${role}: expected a list of permissions, instead got '${typeof granted}'`);
      const set = roles.get(role) ?? new Set<Permission>();
      for (const p of granted as readonly unknown[]) {
        if (typeof p !== "string" || !known.has(p)) throw new PermissionConfigError(`roles.${role}: unknown permission '${String(p)}'; declare it in \`permissions\` first`);
        // The built-in roles' own sets are Rampart's contract (the admin guards rely on them): an app only adds its own permissions to them.
        if ((role === "user" || role === "admin") && builtIn.has(p) && !set.has(p as Permission)) {
          throw new PermissionConfigError(`roles.${role}: '${p}' is a built-in permission the built-in role '${role}' does not hold; grant it to a role of the app's own`);
        }
        set.add(p as Permission);
      }
      roles.set(role, set);
    }
    return new PermissionRegistry(known, roles);
  }

  /** Every known permission, built-in first. */
  all(): readonly Permission[] {
    return [...this.known] as Permission[];
  }

  has(permission: string): permission is Permission {
    return this.known.has(permission);
  }

  isBuiltIn(permission: string): permission is BuiltInPermission {
    return this.builtIn.has(permission);
  }

  roleNames(): readonly string[] {
    return [...this.roles.keys()];
  }

  hasRole(role: string): boolean {
    return this.roles.has(role);
  }

  /** The permissions of one role (empty for an unknown one). */
  permissionsOfRole(role: string): ReadonlySet<Permission> {
    return this.roles.get(role) ?? new Set<Permission>();
  }

  /**
   * The union of the permissions of `roles`; unknown role names grant nothing.
   * Shared per role combination (the registry never changes after create, and
   * every authenticated request asks): never mutate the result.
   */
  permissionsOf(roles: readonly string[]): ReadonlySet<Permission> {
    const key = roles.length === 1 ? roles[0]! : roles.join("\u0000");
    let out = this.unions.get(key);
    if (out === undefined) {
      const union = new Set<Permission>();
      for (const r of roles) for (const p of this.roles.get(r) ?? []) union.add(p);
      out = union;
      // Role lists come from signed tokens and the database: bounded in practice, bounded here regardless.
      if (this.unions.size >= MAX_CACHED_UNIONS) this.unions.clear();
      this.unions.set(key, out);
    }
    return out;
  }

  /** Whether only a login session may hold `permission` (never an API key). */
  sessionOnly(permission: string): boolean {
    return (SESSION_ONLY as ReadonlySet<string>).has(permission);
  }
}
