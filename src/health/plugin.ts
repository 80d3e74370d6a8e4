/**
 * Health endpoints in the health+json shape (not the envelope):
 * `GET /health/live` answers while the process serves requests;
 * `GET /health/ready` runs every registered readiness check and answers 503
 * naming the failing one, so a load balancer takes the instance out while it
 * cannot serve, and 200 with `warn` while a dependency every instance shares
 * (PostgreSQL, Redis) is degraded and the instance still serves
 * (checks.ts).
 */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import type { Logger } from "../log/index.js";
import { runChecks, type HealthCheck } from "./checks.js";

export interface HealthPluginOptions {
  checks: readonly HealthCheck[];
  timeoutMs: number;
  log: Logger;
  version: string;
}

const CheckSchema = Type.Object({
  componentId: Type.String(),
  status: Type.Union([Type.Literal("pass"), Type.Literal("warn"), Type.Literal("fail")]),
  observedValue: Type.Number(),
  observedUnit: Type.Literal("ms"),
  time: Type.String(),
  output: Type.Optional(Type.String()),
});

const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal("pass"), Type.Literal("warn"), Type.Literal("fail")]),
  version: Type.String(),
  checks: Type.Optional(Type.Record(Type.String(), Type.Array(CheckSchema))),
});

const HEALTH_MEDIA_TYPE = "application/health+json";
const HEALTH_TYPE = `${HEALTH_MEDIA_TYPE}; charset=utf-8`;

/**
 * A response declared under its media type: the document says health+json,
 * and Fastify, which picks a response schema by the answer's media type,
 * serializes the body with the same schema as before.
 */
const healthResponse = (description: string) => ({ description, content: { [HEALTH_MEDIA_TYPE]: { schema: HealthSchema } } });

export const healthPlugin: FastifyPluginAsync<HealthPluginOptions> = async (app, opts) => {
  app.get(
    "/health/live",
    { schema: { tags: ["health"], summary: "Liveness: the process is up", response: { 200: healthResponse("The process serves requests") } } },
    async (_request, reply) => {
      reply.type(HEALTH_TYPE).header("cache-control", "no-store");
      return { status: "pass" as const, version: opts.version };
    },
  );

  app.get(
    "/health/ready",
    { schema: { tags: ["health"], summary: "Readiness: this instance can serve", response: { 200: healthResponse("Every check passes or warns (`warn`: a shared dependency is degraded, the instance still serves)"), 503: healthResponse("A check fails; `checks` names it") } } },
    async (_request, reply) => {
      const report = await runChecks(opts.checks, {
        timeoutMs: opts.timeoutMs,
        onFailure: (name, err) => opts.log.warn({ check: name, err }, "readiness check did not pass"),
      });
      reply.type(HEALTH_TYPE).header("cache-control", "no-store").code(report.status === "fail" ? 503 : 200);
      return { status: report.status, version: opts.version, checks: report.checks };
    },
  );
};
