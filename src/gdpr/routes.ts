/** Routes: GDPR export, erasure and consent, for the user and for admins. */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import yazl from "yazl";
import { guard, principalOf } from "../auth/plugin.js";
import { Code, IdParams, Password } from "../auth/schemas.js";
import { RampartError } from "../errors/index.js";
import { Envelope, ok } from "../server/envelope.js";
import { listConsents, setConsent } from "./consents.js";
import { erase, eraseSelf } from "./erase.js";
import { EXPORT_PERMISSIONS, exportUser, type GdprDeps } from "./export.js";

const security = [{ bearer: [] }];
const Receipt = Type.Object({ id: Type.String(), userId: Type.String(), erasedAt: Type.String(), removed: Type.Record(Type.String(), Type.Integer()), keyShredded: Type.Boolean() });
const ExportQuery = Type.Object({ format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("zip")])) }, { additionalProperties: false });
const Consent = Type.Object({ purpose: Type.String(), granted: Type.Boolean(), policyVersion: Type.Union([Type.String(), Type.Null()]), updatedAt: Type.Union([Type.String(), Type.Null()]) });
const ExportDoc = Type.Record(Type.String(), Type.Unknown(), { description: "Everything held about the user; see docs/compliance.md" });
/**
 * JSON by default, a zip with `format=zip`. Fastify picks the serializer by
 * the answer's media type: the JSON envelope is serialized as before, the zip
 * is a stream and is not serialized.
 */
const ExportResponse = {
  description: "An attachment: the JSON envelope, or with `format=zip` a zip of `export.json` and the user's files",
  content: { "application/json": { schema: Envelope(ExportDoc) }, "application/zip": { schema: Type.String({ format: "binary" }) } },
};

async function sendExport(deps: GdprDeps, request: FastifyRequest, reply: FastifyReply, userId: string, actor: { type: "user" | "admin"; id: string }) {
  const data = await exportUser(deps, userId);
  const format = (request.query as { format?: string }).format ?? "json";
  await deps.runtime.events.emit("gdpr.exported", { actor, target: `user:${userId}`, data: { format } });
  reply.header("cache-control", "no-store");
  if (format === "json") {
    reply.header("content-disposition", `attachment; filename="rampart-export-${userId}.json"`);
    return ok(request, data);
  }
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(JSON.stringify(data, null, 2)), "export.json");
  for (const f of (data.files as { id: string; name: string }[]) ?? []) {
    const opened = await deps.files!.open(userId, f.id);
    zip.addReadStream(opened.body, `files/${f.id}-${f.name.replace(/[^A-Za-z0-9._-]/g, "_")}`);
  }
  zip.end();
  reply.type("application/zip").header("content-disposition", `attachment; filename="rampart-export-${userId}.zip"`);
  return reply.send(zip.outputStream);
}

export const gdprRoutes: FastifyPluginAsync<GdprDeps> = async (app, deps) => {
  app.get(
    "/me/export",
    {
      // The export holds sessions, keys, files, mail and audit entries: it needs the permission of each.
      preHandler: guard(...EXPORT_PERMISSIONS),
      schema: { tags: ["gdpr"], security, summary: "Everything Rampart holds about the caller (JSON, or a zip with the files)", querystring: ExportQuery, response: { 200: ExportResponse } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      return sendExport(deps, request, reply, p.userId, { type: "user", id: p.userId });
    },
  );
  app.delete(
    "/me",
    {
      preHandler: guard("me:write"),
      schema: { tags: ["gdpr"], security, summary: "Erase the caller's account and data (password, and a code when MFA is on)", body: Type.Object({ password: Password, code: Type.Optional(Code) }, { additionalProperties: false }), response: { 200: Envelope(Type.Object({ receipt: Receipt })) } },
    },
    async (request) => {
      const p = principalOf(request);
      if (p.kind !== "session") throw new RampartError("FORBIDDEN", { message: "Erasing an account needs a login session, not an API key." });
      return ok(request, { receipt: await eraseSelf(deps, p.userId, request.body as { password: string; code?: string }) });
    },
  );
  app.get(
    "/me/consents",
    { preHandler: guard("me:read"), schema: { tags: ["gdpr"], security, summary: "The caller's consent per purpose", response: { 200: Envelope(Type.Object({ consents: Type.Array(Consent) })) } } },
    async (request) => ok(request, { consents: await listConsents(deps.runtime, principalOf(request).userId) }),
  );
  app.put(
    "/me/consents/:purpose",
    {
      preHandler: guard("me:write"),
      schema: {
        tags: ["gdpr"],
        security,
        summary: "Grant or withdraw consent for a purpose (kept as history and audited)",
        params: Type.Object({ purpose: Type.String({ maxLength: 40, pattern: "^[a-z][a-z0-9-]*$" }) }, { additionalProperties: false }),
        body: Type.Object({ granted: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: Envelope(Type.Object({ consent: Consent })) },
      },
    },
    async (request) => ok(request, { consent: await setConsent(deps.runtime, principalOf(request).userId, (request.params as { purpose: string }).purpose, (request.body as { granted: boolean }).granted, request.ip) }),
  );
  app.get(
    "/admin/users/:id/export",
    { preHandler: guard("users:read", "users:export"), schema: { tags: ["gdpr", "admin"], security, summary: "Export everything held about a user (files included)", params: IdParams, querystring: ExportQuery, response: { 200: ExportResponse } } },
    async (request, reply) => sendExport(deps, request, reply, (request.params as { id: string }).id, { type: "admin", id: principalOf(request).userId }),
  );
  app.delete(
    "/admin/users/:id",
    {
      preHandler: guard("users:write"),
      schema: {
        tags: ["gdpr", "admin"],
        security,
        summary: "Erase a user (reason recorded in the audit log)",
        description: "Never the last active admin (409). On the caller's own account it re-authenticates: `password`, and `code` when MFA is on.",
        params: IdParams,
        body: Type.Object({ reason: Type.String({ minLength: 3, maxLength: 500 }), password: Type.Optional(Password), code: Type.Optional(Code) }, { additionalProperties: false }),
        response: { 200: Envelope(Type.Object({ receipt: Receipt })) },
      },
    },
    async (request) => {
      const id = (request.params as { id: string }).id;
      const body = request.body as { reason: string; password?: string; code?: string };
      const actor = { type: "admin" as const, id: principalOf(request).userId };
      // On oneself an admin route is a sensitive self-service action: it re-authenticates like DELETE /me.
      const receipt = id === actor.id ? await eraseSelf(deps, id, body, actor, body.reason) : await erase(deps, id, actor, body.reason);
      return ok(request, { receipt });
    },
  );
};
