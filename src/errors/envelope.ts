/**
 * The wire shapes of docs/architecture.md: the success/error envelope and its RFC 9457
 * problem+json twin. Both carry the same `code` and `traceId`.
 */
import { builtInErrors, type AnyErrorCode, type ErrorCatalogue } from "./registry.js";

export interface SuccessEnvelope<T> {
  success: true;
  data: T;
  traceId: string;
}

export interface ErrorEnvelope {
  success: false;
  code: AnyErrorCode;
  message: string;
  details?: Record<string, unknown>;
  traceId: string;
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: AnyErrorCode;
  traceId: string;
  details?: Record<string, unknown>;
}

export function toEnvelope(code: AnyErrorCode, message: string, traceId: string, details?: Record<string, unknown>): ErrorEnvelope {
  const body: ErrorEnvelope = { success: false, code, message, traceId };
  if (details !== undefined) body.details = details;
  return body;
}

/** The problem+json document of `code`, whose type, title and status come from `catalogue` (default Rampart's; throws for a code it lacks). */
export function toProblem(code: AnyErrorCode, message: string, traceId: string, instance: string, details?: Record<string, unknown>, catalogue: ErrorCatalogue = builtInErrors): ProblemDocument {
  const entry = catalogue.entry(code);
  if (!entry) throw new Error(`error code '${code}' is not in the catalogue`);
  const body: ProblemDocument = { type: entry.type, title: entry.title, status: entry.status, detail: message, instance, code, traceId };
  if (details !== undefined) body.details = details;
  return body;
}
