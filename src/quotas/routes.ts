/** Routes: the caller's usage, top consumers for admins, and plan changes. */
import type { FastifyPluginAsync } from "fastify";
import { guard, principalOf } from "../auth/plugin.js";
import { Envelope, ok } from "../server/envelope.js";
import type { MeterState } from "./headers.js";
import { PERIODS, type Period } from "./plans.js";
import type { Quotas } from "./quotas.js";
import { PlanAssignment, SetPlanBody, UserIdParams, usageSchemas } from "./schemas.js";

const security = [{ bearer: [] }];

function wire(s: MeterState) {
  return { ...s, resetsAt: new Date(s.resetsAt).toISOString() };
}

export const quotaRoutes: FastifyPluginAsync<{ quotas: Quotas }> = async (app, { quotas }) => {
  // The app's meters are listed and queryable like the built-in ones.
  const { MyUsage, AdminUsageQuery, AdminUsage } = usageSchemas(quotas.meters);
  app.get(
    "/me/usage",
    {
      preHandler: guard("me:read"),
      // Not counted: a user at the limit can still see when it resets.
      config: { quota: false },
      schema: { tags: ["me"], security, summary: "The caller's plan and meters (used, limit, period, reset)", response: { 200: Envelope(MyUsage) } },
    },
    async (request) => {
      const { plan, meters } = await quotas.usage(principalOf(request).userId);
      return ok(request, { plan, meters: meters.map(wire) });
    },
  );

  app.get(
    "/admin/usage",
    {
      preHandler: guard("usage:read"),
      config: { compress: true },
      schema: {
        tags: ["admin"],
        security,
        summary: "Top consumers per meter in the current day and month (usage of every instance, written every QUOTA_PERSIST_INTERVAL_MS)",
        querystring: AdminUsageQuery,
        response: { 200: Envelope(AdminUsage) },
      },
    },
    async (request) => {
      const q = request.query as { meter?: string; period?: Period; limit?: number };
      const out = [];
      for (const meter of q.meter ? [q.meter] : quotas.meters) {
        for (const period of q.period ? [q.period] : PERIODS) {
          const { window, users } = await quotas.top(meter, period, q.limit ?? 10);
          out.push({ meter, period, periodStart: new Date(window.start).toISOString(), resetsAt: new Date(window.end).toISOString(), users });
        }
      }
      return ok(request, { meters: out });
    },
  );

  app.put(
    "/admin/users/:id/plan",
    {
      preHandler: guard("users:write"),
      schema: { tags: ["admin"], security, summary: "Put a user on a quota plan (takes effect at once, on every instance)", params: UserIdParams, body: SetPlanBody, response: { 200: Envelope(PlanAssignment) } },
    },
    async (request) => {
      const userId = (request.params as { id: string }).id;
      const { name } = await quotas.setPlan(principalOf(request).userId, userId, (request.body as { plan: string }).plan);
      return ok(request, { userId, plan: name });
    },
  );
};
