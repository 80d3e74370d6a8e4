/** TypeBox schemas of the quota API (`/v1/me/usage`, `/v1/admin/usage`, plan changes). */
import { Type } from "@sinclair/typebox";
import { METERS, PERIODS } from "./plans.js";

export const MeterName = Type.Union(METERS.map((m) => Type.Literal(m)));
export const PeriodName = Type.Union(PERIODS.map((p) => Type.Literal(p)));
export const PlanName = Type.String({ minLength: 1, maxLength: 50, pattern: "^[a-z0-9][a-z0-9_-]*$" });

export const MeterStateSchema = Type.Object(
  {
    meter: MeterName,
    period: PeriodName,
    used: Type.Integer({ minimum: 0 }),
    limit: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: "null: unlimited under the plan" }),
    resetsAt: Type.String({ format: "date-time" }),
  },
  { additionalProperties: false },
);

export const MyUsage = Type.Object({ plan: Type.String(), meters: Type.Array(MeterStateSchema) }, { additionalProperties: false });

export const AdminUsageQuery = Type.Object(
  {
    meter: Type.Optional(MeterName),
    period: Type.Optional(PeriodName),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
  },
  { additionalProperties: false },
);

export const TopConsumers = Type.Object(
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

export const AdminUsage = Type.Object({ meters: Type.Array(TopConsumers) }, { additionalProperties: false });

export const UserIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" }) }, { additionalProperties: false });
export const SetPlanBody = Type.Object({ plan: PlanName }, { additionalProperties: false });
export const PlanAssignment = Type.Object({ userId: Type.String(), plan: Type.String() }, { additionalProperties: false });
