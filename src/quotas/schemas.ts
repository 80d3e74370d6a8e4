/**
 * TypeBox schemas of the quota API (`/v1/me/usage`, `/v1/admin/usage`, plan
 * changes). Meter names are the service's meters (built-in and the app's),
 * so the usage schemas are built per service by usageSchemas.
 */
import { Type } from "@sinclair/typebox";
import { METERS, PERIODS } from "./plans.js";

export const PeriodName = Type.Union(PERIODS.map((p) => Type.Literal(p)));
export const PlanName = Type.String({ minLength: 1, maxLength: 50, pattern: "^[a-z0-9][a-z0-9_-]*$" });

/** The usage schemas for a meter set (default the built-in meters). */
export function usageSchemas(meters: readonly string[] = METERS) {
  const MeterName = Type.Union(meters.map((m) => Type.Literal(m)));
  const MeterStateSchema = Type.Object(
    {
      meter: MeterName,
      period: PeriodName,
      used: Type.Integer({ minimum: 0 }),
      limit: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: "null: unlimited under the plan" }),
      resetsAt: Type.String({ format: "date-time" }),
    },
    { additionalProperties: false },
  );
  const MyUsage = Type.Object({ plan: Type.String(), meters: Type.Array(MeterStateSchema) }, { additionalProperties: false });
  const AdminUsageQuery = Type.Object(
    {
      meter: Type.Optional(MeterName),
      period: Type.Optional(PeriodName),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
    },
    { additionalProperties: false },
  );
  const TopConsumers = Type.Object(
    {
      meter: MeterName,
      period: PeriodName,
      periodStart: Type.String({ format: "date-time" }),
      resetsAt: Type.String({ format: "date-time" }),
      users: Type.Array(
        Type.Object(
          { userId: Type.String(), plan: Type.String(), used: Type.Integer({ minimum: 0 }), limit: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]) },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  );
  const AdminUsage = Type.Object({ meters: Type.Array(TopConsumers) }, { additionalProperties: false });
  return { MeterName, MeterStateSchema, MyUsage, AdminUsageQuery, AdminUsage };
}

export const UserIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" }) }, { additionalProperties: false });
export const SetPlanBody = Type.Object({ plan: PlanName }, { additionalProperties: false });
export const PlanAssignment = Type.Object({ userId: Type.String(), plan: Type.String() }, { additionalProperties: false });
