/**
 * Success envelope helpers and the TypeBox schemas that describe the wire
 * contract, shared by every route (and by the OpenAPI document).
 */
import { Type, type TSchema } from "@sinclair/typebox";
import type { FastifyRequest } from "fastify";
import { errorCodes } from "../errors/index.js";
import { traceIdOf } from "./plugins/request-context.js";

/** Wraps a payload in the success envelope with the request's trace id. */
export function ok<T>(request: FastifyRequest, data: T): { success: true; data: T; traceId: string } {
  return { success: true, data, traceId: traceIdOf(request) };
}

/** Schema of a success envelope around `data`. */
export function Envelope<T extends TSchema>(data: T) {
  return Type.Object({ success: Type.Literal(true), data, traceId: Type.String() }, { additionalProperties: false });
}

export const ErrorEnvelopeSchema = Type.Object(
  {
    success: Type.Literal(false),
    code: Type.Union(errorCodes.map((c) => Type.Literal(c))),
    message: Type.String(),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    traceId: Type.String(),
  },
  { $id: "ErrorEnvelope", additionalProperties: false, description: "Every error response (see docs/errors.md)." },
);

export const ProblemDocumentSchema = Type.Object(
  {
    type: Type.String({ description: "A URI naming the code (`urn:rampart:error:<code in lower case>` for Rampart's)" }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({ description: "The envelope's `message`" }),
    instance: Type.String({ description: "The request's path" }),
    code: ErrorEnvelopeSchema.properties.code,
    traceId: Type.String(),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { $id: "ProblemDocument", additionalProperties: false, description: "Every error response as RFC 9457 problem+json, when the request's Accept asks for application/problem+json (see docs/errors.md)." },
);
