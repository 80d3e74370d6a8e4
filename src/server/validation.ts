/**
 * Schema validation settings. Bodies are validated strictly (no type coercion,
 * unknown properties rejected rather than silently removed); query strings,
 * params and headers are coerced, since they only ever arrive as strings.
 * All errors are collected so a client sees every failing field at once; the
 * body limit and the array/string caps in the schemas bound the work.
 */
import AjvCompiler from "@fastify/ajv-compiler";
import type { FastifyServerOptions } from "fastify";

const BASE = { removeAdditional: false, useDefaults: true, allErrors: true } as const;

export const schemaController: NonNullable<FastifyServerOptions["schemaController"]> = {
  compilersFactory: {
    buildValidator(externalSchemas: unknown, ajvOptions: unknown) {
      const factory = AjvCompiler();
      const plugins = (ajvOptions as { plugins?: unknown[] } | undefined)?.plugins ?? [];
      const strict = factory(externalSchemas as never, { customOptions: { ...BASE, coerceTypes: false }, plugins } as never);
      const coercing = factory(externalSchemas as never, { customOptions: { ...BASE, coerceTypes: "array" }, plugins } as never);
      return (route: { httpPart?: string }) => (route.httpPart === "body" ? strict(route as never) : coercing(route as never));
    },
  },
} as NonNullable<FastifyServerOptions["schemaController"]>;

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Turns Ajv errors into `{ path, message }` entries such as `body.email`. */
export function validationDetails(context: string | undefined, errors: AjvError[]): { fields: { path: string; message: string }[] } {
  const fields = errors.map((e) => {
    const segments = e.instancePath.split("/").filter(Boolean).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (e.keyword === "required" && typeof e.params.missingProperty === "string") segments.push(e.params.missingProperty);
    if (e.keyword === "additionalProperties" && typeof e.params.additionalProperty === "string") segments.push(e.params.additionalProperty);
    const path = [context ?? "body", ...segments].map((s, i) => (i > 0 && /^\d+$/.test(s) ? `[${s}]` : i > 0 ? `.${s}` : s)).join("");
    const message = e.keyword === "additionalProperties" ? "is not allowed" : (e.message ?? "is invalid");
    return { path, message };
  });
  return { fields };
}
