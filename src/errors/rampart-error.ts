/**
 * The error type every layer throws for failures a client may see. It carries a
 * catalogue code; status and default message come from the catalogue so that no
 * code path invents its own. An app's own code (AppErrorCodes) is resolved by
 * the error handler against the app's catalogue (registry.ts), which holds its
 * status and message.
 */
import { errorCatalogue, type ErrorCode } from "./catalogue.js";
import type { AnyErrorCode } from "./registry.js";

export interface RampartErrorOptions {
  /** Human text for the client; defaults to the catalogue message. Never put secrets here. */
  message?: string;
  /** Structured, client-safe details (e.g. failing fields). */
  details?: Record<string, unknown>;
  /** Extra response headers (e.g. Retry-After). */
  headers?: Record<string, string>;
  cause?: unknown;
}

function builtIn(code: string): (typeof errorCatalogue)[ErrorCode] | undefined {
  return Object.hasOwn(errorCatalogue, code) ? errorCatalogue[code as ErrorCode] : undefined;
}

export class RampartError extends Error {
  override readonly name = "RampartError";
  readonly code: AnyErrorCode;
  /** The built-in code's status; undefined for an app code (its status is in the app's catalogue). */
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;
  /** Whether the thrower gave its own message (else the client gets the catalogue's). */
  readonly ownMessage: boolean;

  constructor(code: AnyErrorCode, options: RampartErrorOptions = {}) {
    const entry = builtIn(code);
    super(options.message ?? entry?.message ?? code, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = entry?.status;
    this.details = options.details;
    this.headers = options.headers;
    this.ownMessage = options.message !== undefined;
  }
}

export function isRampartError(err: unknown): err is RampartError {
  return err instanceof RampartError;
}
