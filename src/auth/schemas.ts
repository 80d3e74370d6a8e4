/** TypeBox schemas of the identity API (request bodies and response payloads). */
import { Type } from "@sinclair/typebox";

export const Email = Type.String({ format: "email", minLength: 3, maxLength: 254 });
// Passwords: the policy checks 12..128 characters after NFKC; the schema only bounds the input size.
export const Password = Type.String({ minLength: 1, maxLength: 1024 });
export const Code = Type.String({ minLength: 6, maxLength: 32 });
export const OpaqueToken = Type.String({ minLength: 16, maxLength: 512 });
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" });
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

export const PublicUser = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.String()),
  mfaEnabled: Type.Boolean(),
  emailVerified: Type.Boolean(),
  createdAt: Type.String({ format: "date-time" }),
});

export const TokenPair = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal("Bearer"),
  expiresIn: Type.Integer(),
  user: PublicUser,
});

export const MfaRequired = Type.Object({ mfaRequired: Type.Literal(true), mfaToken: Type.String() });

export const Session = Type.Object({
  id: Type.String(),
  current: Type.Boolean(),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  mfa: Type.Boolean(),
  createdAt: Type.String(),
  lastUsedAt: Type.String(),
  expiresAt: Type.String(),
});

export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  parentId: Type.Union([Type.String(), Type.Null()], { description: "The key that created this one (revoking it revokes this one); null when a login session did." }),
});

export const AdminUser = Type.Composite([
  PublicUser,
  Type.Object({ status: Type.String(), updatedAt: Type.String(), locked: Type.Boolean() }),
]);

export const Empty = Type.Object({}, { additionalProperties: false });
