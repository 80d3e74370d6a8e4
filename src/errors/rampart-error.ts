/**
 * The error type every layer throws for failures a client may see. It carries a
 * catalogue code; status and default message come from the catalogue so that no
 * code path invents its own.
 */
import { errorCatalogue, type ErrorCode } from "./catalogue.js";

export interface RampartErrorOptions {
  /** Human text for the client; defaults to the catalogue message. Never put secrets here. */
  message?: string;
  /** Structured, client-safe details (e.g. failing fields). */
  details?: Record<string, unknown>;
  /** Extra response headers (e.g. Retry-After). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class RampartError extends Error {
  override readonly name = "RampartError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, options: RampartErrorOptions = {}) {
    super(options.message ?? errorCatalogue[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export function isRampartError(err: unknown): err is RampartError {
  return err instanceof RampartError;
}
