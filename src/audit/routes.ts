/** Routes: reading and verifying the audit log (admin, `audit:read`). */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import { guard } from "../auth/plugin.js";
import { RampartError } from "../errors/index.js";
import type { Runtime } from "../runtime/index.js";
import { Envelope, ok } from "../server/envelope.js";

const tags = ["audit"];
const security = [{ bearer: [] }];

const Entry = Type.Object({
  seq: Type.Integer(),
  at: Type.String(),
  actor: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  traceId: Type.Union([Type.String(), Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown()),
  hash: Type.String(),
});

const Query = Type.Object(
  {
    actor: Type.Optional(Type.String({ maxLength: 100 })),
    action: Type.Optional(Type.String({ maxLength: 100 })),
    target: Type.Optional(Type.String({ maxLength: 200 })),
    from: Type.Optional(Type.String({ format: "date-time", maxLength: 40 })),
    to: Type.Optional(Type.String({ format: "date-time", maxLength: 40 })),
    cursor: Type.Optional(Type.String({ pattern: "^[0-9]{1,18}$", maxLength: 18 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);

export const auditRoutes: FastifyPluginAsync<{ runtime: Runtime }> = async (app, { runtime }) => {
  app.get(
    "/admin/audit",
    {
      preHandler: guard("audit:read"),
      // Entries hold no secrets: compressed when large (http/compress.ts).
      config: { compress: true },
      schema: { tags, security, summary: "Audit entries, newest first; filter by actor id, action, target and time", querystring: Query, response: { 200: Envelope(Type.Object({ entries: Type.Array(Entry), nextCursor: Type.Union([Type.String(), Type.Null()]) })) } },
    },
    async (request) => {
      const q = request.query as { actor?: string; action?: string; target?: string; from?: string; to?: string; cursor?: string; limit?: number };
      const from = q.from ? new Date(q.from) : undefined;
      const to = q.to ? new Date(q.to) : undefined;
      if (from && to && from >= to) throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: "querystring.to", message: "must be after `from`" }] } });
      return ok(
        request,
        await runtime.audit.query({
          limit: q.limit ?? 50,
          ...(q.actor !== undefined ? { actorId: q.actor } : {}),
          ...(q.action !== undefined ? { action: q.action } : {}),
          ...(q.target !== undefined ? { target: q.target } : {}),
          ...(from ? { from } : {}),
          ...(to ? { to } : {}),
          ...(q.cursor !== undefined ? { before: Number(q.cursor) } : {}),
        }),
      );
    },
  );

  app.get(
    "/admin/audit/verify",
    {
      preHandler: guard("audit:read"),
      schema: {
        tags,
        security,
        summary: "Walk the whole hash chain; names the first bad entry",
        response: {
          200: Envelope(
            Type.Object({
              ok: Type.Boolean(),
              entries: Type.Integer(),
              head: Type.Optional(Type.Object({ seq: Type.Integer(), hash: Type.String() })),
              firstBadSeq: Type.Optional(Type.Integer()),
              reason: Type.Optional(Type.String()),
            }),
          ),
        },
      },
    },
    // Through the verifier: a full walk asked for here also counts in the verification metrics.
    async (request) => ok(request, (await runtime.audit.verifier.run({ full: true })).result),
  );
};
