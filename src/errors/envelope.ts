/**
 * The wire shapes of DESIGN.md: the success/error envelope and its RFC 9457
 * problem+json twin. Both carry the same `code` and `traceId`.
 */
import { errorCatalogue, problemType, type ErrorCode } from "./catalogue.js";

export interface SuccessEnvelope<T> {
  success: true;
  data: T;
  traceId: string;
}

export interface ErrorEnvelope {
  success: false;
  code: ErrorCode;
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
  code: ErrorCode;
  traceId: string;
  details?: Record<string, unknown>;
}

export function toEnvelope(code: ErrorCode, message: string, traceId: string, details?: Record<string, unknown>): ErrorEnvelope {
  const body: ErrorEnvelope = { success: false, code, message, traceId };
  if (details !== undefined) body.details = details;
  return body;
}

export function toProblem(code: ErrorCode, message: string, traceId: string, instance: string, details?: Record<string, unknown>): ProblemDocument {
  const entry = errorCatalogue[code];
  const body: ProblemDocument = { type: problemType(code), title: entry.title, status: entry.status, detail: message, instance, code, traceId };
  if (details !== undefined) body.details = details;
  return body;
}
