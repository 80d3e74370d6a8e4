/**
 * Public API of identity (`rampart/auth`): the Identity capability and its
 * Fastify plugin, the flows, principals and permissions, and the credential
 * cores (passwords, TOTP, API keys, access tokens, revocation).
 */
export { createIdentity, type Identity, type IdentityOptions } from "./identity.js";
export { authPlugin, guard, principalOf, type AuthPluginOptions } from "./plugin.js";
export { authenticate, bearerCredential } from "./authenticate.js";
export { identityRoutes, apiKeyRoutes, adminUserRoutes, type IdentityRouteOptions } from "./routes/index.js";
export {
  PERMISSIONS,
  BUILT_IN_ROLES,
  SESSION_ONLY,
  PERMISSION_PATTERN,
  PermissionRegistry,
  PermissionConfigError,
  type Permission,
  type BuiltInPermission,
  type AppPermissions,
  type PermissionOptions,
} from "./permissions.js";
export { can, type Principal } from "./principal.js";
export { Lockout, DEFAULT_LOCKOUT, type LockoutPolicy } from "./lockout.js";
export { reauthenticate, checkPassword, checkCode, type ReauthProof, type ReauthOptions } from "./reauth.js";
export { Users, EMAIL_INDEX, type UserProfile } from "./users.js";
export { Sessions, type ClientInfo } from "./sessions.js";
export { register, signUp, type SignUpResult } from "./flows/register.js";
export { verifyEmail, resendVerification, requireVerifiedEmail } from "./flows/email-verification.js";
export { login, verifyMfa, type LoginResult } from "./flows/login.js";
export { refresh, logout, logoutAll } from "./flows/sessions.js";
export { changePassword, forgotPassword, resetPassword } from "./flows/password.js";
export { createAdmin, ensureBootstrapAdmin } from "./flows/bootstrap.js";
export * as passwords from "./password/index.js";
export * as totp from "./totp/index.js";
export * as apiKeys from "./api-keys/index.js";
export * as tokens from "./tokens/index.js";
export { RevocationList, REVOCATIONS_CHANNEL } from "./revocation/index.js";
