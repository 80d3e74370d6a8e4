/**
 * API key scopes: `resource:action` strings (the permission format of
 * src/auth/permissions.ts, e.g. `api-keys:read`). A key's effective
 * permissions are its owner's intersected with its scopes.
 */
import { RampartError } from "../../errors/index.js";
import { BUILT_IN_ROLES, PERMISSION_PATTERN, type PermissionRegistry } from "../permissions.js";

/** Lower-case resource and action, letters first, then letters, digits, `-` or `_`; 64 characters each at most. */
export const SCOPE_PATTERN = PERMISSION_PATTERN;
/** Most scopes on one key. */
export const MAX_SCOPES = 64;

export function isValidScope(scope: string): boolean {
  return SCOPE_PATTERN.test(scope);
}

export interface ParseScopesOptions {
  /** When given, every scope must be one of these (e.g. the caller's permissions). */
  allowed?: readonly string[];
  /** Field path in VALIDATION_FAILED details. Default `body.scopes`. */
  path?: string;
}

/**
 * Validates requested scopes and returns them deduplicated and sorted. Throws
 * `RampartError("VALIDATION_FAILED")` listing each bad entry by its index.
 */
export function parseScopes(input: readonly unknown[], options: ParseScopesOptions = {}): string[] {
  const path = options.path ?? "body.scopes";
  const fields: { path: string; message: string }[] = [];
  if (input.length > MAX_SCOPES) fields.push({ path, message: `At most ${MAX_SCOPES} scopes, instead got ${input.length}.` });
  input.forEach((s, i) => {
    if (typeof s !== "string" || !isValidScope(s)) fields.push({ path: `${path}[${i}]`, message: "A scope is `resource:action` in lower case (e.g. `files:read`)." });
    else if (options.allowed && !options.allowed.includes(s)) fields.push({ path: `${path}[${i}]`, message: `Unknown scope '${s}'.` });
  });
  if (fields.length > 0) throw new RampartError("VALIDATION_FAILED", { details: { fields } });
  return [...new Set(input as string[])].sort();
}

/** Whether granted scopes include `required` (exact match; there are no wildcards). */
export function hasScope(granted: readonly string[], required: string): boolean {
  return granted.includes(required);
}

/**
 * Whether creating a key with `scope` needs the owner to re-authenticate:
 * every `:write` scope (Rampart's and a host app's) and every known
 * permission the `user` role lacks (administration of other accounts, the
 * audit log, an app permission only its own roles grant). A key holding one
 * can change the account or act on others, so a stolen session or key alone
 * must not be enough to mint it. Without `registry`, the built-in table.
 */
export function isSensitiveScope(scope: string, registry?: PermissionRegistry): boolean {
  if (scope.endsWith(":write")) return true;
  if (registry) return registry.has(scope) && !registry.permissionsOfRole("user").has(scope);
  return (BUILT_IN_ROLES.admin as readonly string[]).includes(scope) && !(BUILT_IN_ROLES.user as readonly string[]).includes(scope);
}
