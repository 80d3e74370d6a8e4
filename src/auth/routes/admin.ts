/** Routes: user administration and the key status (permission-guarded). */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { Envelope, ok } from "../../server/envelope.js";
import type { Identity } from "../identity.js";
import { disableUser, listUsers, revokeUserSessions, setRoles, unlockUser, type UserFilters } from "../flows/admin.js";
import { publicUser } from "../flows/common.js";
import { keyStatus } from "../flows/key-status.js";
import { guard, principalOf } from "../plugin.js";
import { AdminUser, Code, IdParams, Password, PublicUser } from "../schemas.js";

const tags = ["admin"];
const security = [{ bearer: [] }];
// Asked only when an admin acts on their own account (re-authentication); ignored otherwise.
const selfProof = { password: Type.Optional(Password), code: Type.Optional(Code) };
const ProofBody = Type.Object(selfProof, { additionalProperties: false, description: "On the caller's own account: `password`, and `code` when MFA is on." });
type Proof = { password?: string; code?: string };
const proofOf = (body: unknown): Proof => (body ?? {}) as Proof;
// These actions usually come without a body; an absent one is the empty proof.
const noBodyIsEmpty = async (request: FastifyRequest): Promise<void> => {
  if (request.body === undefined || request.body === null) request.body = {};
};

const DateTime = Type.String({ format: "date-time" });
const NullableDateTime = Type.Union([DateTime, Type.Null()]);
const KekRef = { provider: Type.String(), keyId: Type.String({ description: "Provider key name: local `default`, the PKCS#11 label, the KMS key ARN, `mount/key` for Vault." }), version: Type.Integer() };

/** `GET /v1/admin/keys`: what `rampart keys status` shows, and the signing keys; no key material. */
const KeyStatus = Type.Object({
  kek: Type.Object({
    provider: Type.String({ description: "The KEK provider (`local`, `pkcs11`, `aws-kms`, `vault-transit` or an app's)." }),
    current: Type.Object(KekRef, { description: "The version that wraps new data keys." }),
    versions: Type.Array(
      Type.Object({
        ...KekRef,
        state: Type.Union([Type.Literal("active"), Type.Literal("retired")], { description: "`active` and not `current`: only unwraps (decrypt-only); `retired`: destroyed." }),
        current: Type.Boolean(),
        createdAt: NullableDateTime,
        retiredAt: NullableDateTime,
        subjectKeys: Type.Integer({ description: "Subject keys wrapped by this version." }),
        ciphertexts: Type.Integer({ description: "Values in registered ciphertext columns whose data key this version wraps." }),
      }),
    ),
    columns: Type.Array(Type.String(), { description: "Registered ciphertext columns (`table.column`)." }),
    rewrap: Type.Object({
      complete: Type.Boolean({ description: "Nothing is left under an earlier version (nor, for `local`, an earlier master key): `rampart keys rewrap` has nothing to do." }),
      subjectKeys: Type.Integer(),
      ciphertexts: Type.Integer(),
      rowsUnderOldMasterKey: Type.Union([Type.Integer(), Type.Null()], { description: "`local` only: KEK rows still wrapped by an earlier master key." }),
    }),
  }),
  signingKeys: Type.Array(
    Type.Object({
      kid: Type.String(),
      alg: Type.Union([Type.String(), Type.Null()]),
      state: Type.Union([Type.Literal("pending"), Type.Literal("active"), Type.Literal("retired")]),
      signing: Type.Boolean({ description: "New access tokens are signed with it now." }),
      published: Type.Boolean({ description: "In the JWKS now." }),
      createdAt: DateTime,
      activatesAt: DateTime,
      activatedAt: NullableDateTime,
      retiredAt: NullableDateTime,
      publishUntil: NullableDateTime,
    }),
  ),
});

/**
 * `GET /v1/admin/users`: filters over plain columns only. Emails are
 * encrypted, so `email` matches one exact address (its blind index); there is
 * no `locked` filter, as the lockout lives in the kv store, not in a column.
 */
const UsersQuery = Type.Object(
  {
    email: Type.Optional(Type.String({ format: "email", minLength: 3, maxLength: 254, description: "One exact address (emails are encrypted; their blind index allows equality only)." })),
    role: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: "^[a-z][a-z0-9_-]*$", description: "Users holding this role (a registered role)." })),
    status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("disabled")])),
    mfa: Type.Optional(Type.Boolean({ description: "`true`: users with a second factor enrolled; `false`: without." })),
    plan: Type.Optional(Type.String({ minLength: 1, maxLength: 50, pattern: "^[a-z0-9][a-z0-9_-]*$", description: "Users on this quota plan (a plan of `RAMPART_PLANS`; the default plan includes users never put on one)." })),
    createdAfter: Type.Optional(Type.String({ format: "date-time", maxLength: 40, description: "Created at or after this time." })),
    createdBefore: Type.Optional(Type.String({ format: "date-time", maxLength: 40, description: "Created before this time." })),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: "`nextCursor` of the previous page; valid only with the same filters." })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);

export const adminRoutes: FastifyPluginAsync<{ identity: Identity }> = async (app, { identity }) => {
  app.get(
    "/admin/users",
    {
      preHandler: guard("users:read"),
      // A list without secrets: compressed when large (http/compress.ts).
      config: { compress: true },
      schema: {
        tags,
        security,
        summary: "List users, oldest first; filters combine with AND (`email` is an exact match through the blind index)",
        querystring: UsersQuery,
        response: { 200: Envelope(Type.Object({ users: Type.Array(AdminUser), nextCursor: Type.Union([Type.String(), Type.Null()]) })) },
      },
    },
    async (request) => ok(request, await listUsers(identity, request.query as UserFilters & { cursor?: string; limit?: number })),
  );
  app.post(
    "/admin/users/:id/unlock",
    { preValidation: noBodyIsEmpty, preHandler: guard("users:unlock"), schema: { tags, security, summary: "Clear a login lockout and a second-factor lockout", params: IdParams, body: ProofBody, response: { 200: Envelope(Type.Object({ wasLocked: Type.Boolean() })) } } },
    async (request) => ok(request, await unlockUser(identity, principalOf(request).userId, (request.params as { id: string }).id, proofOf(request.body))),
  );
  app.post(
    "/admin/users/:id/disable",
    {
      preValidation: noBodyIsEmpty,
      preHandler: guard("users:disable"),
      schema: { tags, security, summary: "Disable an account and end its sessions (never the last active admin)", params: IdParams, body: ProofBody, response: { 200: Envelope(Type.Object({ sessionsRevoked: Type.Integer() })) } },
    },
    async (request) => ok(request, await disableUser(identity, principalOf(request).userId, (request.params as { id: string }).id, proofOf(request.body))),
  );
  app.put(
    "/admin/users/:id/roles",
    {
      preHandler: guard("users:roles"),
      schema: {
        tags,
        security,
        summary: "Replace a user's roles (ends their sessions; never demotes the last active admin)",
        params: IdParams,
        body: Type.Object({ roles: Type.Array(Type.String({ maxLength: 50 }), { minItems: 1, maxItems: 10 }), ...selfProof }, { additionalProperties: false }),
        response: { 200: Envelope(Type.Object({ user: PublicUser })) },
      },
    },
    async (request) => {
      const body = request.body as { roles: string[] } & Proof;
      const user = await setRoles(identity, principalOf(request).userId, (request.params as { id: string }).id, body.roles, body);
      return ok(request, { user: publicUser(user) });
    },
  );
  app.get(
    "/admin/keys",
    {
      preHandler: guard("keys:read"),
      schema: {
        tags,
        security,
        summary: "Key status: KEK versions, the rewrap after a rotation, token signing keys (names, states and dates; never key material)",
        response: { 200: Envelope(KeyStatus) },
      },
    },
    async (request) => ok(request, await keyStatus(identity)),
  );
  app.delete(
    "/admin/users/:id/sessions",
    { preHandler: guard("users:sessions"), schema: { tags, security, summary: "End every session of a user", params: IdParams, response: { 200: Envelope(Type.Object({ sessionsRevoked: Type.Integer() })) } } },
    async (request) => ok(request, await revokeUserSessions(identity, principalOf(request).userId, (request.params as { id: string }).id)),
  );
};
