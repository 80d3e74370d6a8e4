/** Routes: TOTP enrollment, confirmation, disabling, backup-code regeneration. */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import { Envelope, ok } from "../../server/envelope.js";
import type { Identity } from "../identity.js";
import { confirmTotp, disableTotp, enrollTotp, regenerateBackupCodes } from "../flows/mfa.js";
import { guard, principalOf } from "../plugin.js";
import { Code, Password } from "../schemas.js";

const tags = ["mfa"];
const security = [{ bearer: [] }];
const BackupCodes = Type.Object({ backupCodes: Type.Array(Type.String(), { minItems: 10, maxItems: 10 }) });

export const mfaRoutes: FastifyPluginAsync<{ identity: Identity }> = async (app, { identity }) => {
  const sessionOnly = guard("mfa:write");
  app.post(
    "/auth/mfa/totp/enroll",
    { config: { noBody: true }, preHandler: sessionOnly, schema: { tags, security, summary: "Start TOTP enrollment: secret, otpauth URL, QR code", response: { 200: Envelope(Type.Object({ secret: Type.String(), otpauthUrl: Type.String(), qrCode: Type.String() })) } } },
    async (request) => ok(request, await enrollTotp(identity, principalOf(request).userId)),
  );
  app.post(
    "/auth/mfa/totp/confirm",
    { preHandler: sessionOnly, schema: { tags, security, summary: "Confirm enrollment with a code; returns 10 backup codes (shown once)", body: Type.Object({ code: Code }, { additionalProperties: false }), response: { 200: Envelope(BackupCodes) } } },
    async (request) => ok(request, await confirmTotp(identity, principalOf(request).userId, (request.body as { code: string }).code)),
  );
  app.post(
    "/auth/mfa/totp/disable",
    { preHandler: sessionOnly, schema: { tags, security, summary: "Disable MFA (password and a code)", body: Type.Object({ password: Password, code: Code }, { additionalProperties: false }), response: { 200: Envelope(Type.Object({ mfaEnabled: Type.Literal(false) })) } } },
    async (request) => {
      await disableTotp(identity, principalOf(request).userId, request.body as { password: string; code: string });
      return ok(request, { mfaEnabled: false as const });
    },
  );
  app.post(
    "/auth/mfa/backup-codes/regenerate",
    { preHandler: sessionOnly, schema: { tags, security, summary: "Replace every backup code (needs a TOTP code)", body: Type.Object({ code: Code }, { additionalProperties: false }), response: { 200: Envelope(BackupCodes) } } },
    async (request) => ok(request, await regenerateBackupCodes(identity, principalOf(request).userId, (request.body as { code: string }).code)),
  );
};
