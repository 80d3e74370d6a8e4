/**
 * The error catalogue of one app: Rampart's codes plus the app's own
 * (`errors: { NOTE_LOCKED: { status: 409, message: "This note is locked." } }`),
 * validated once when the app starts. The error handler maps every
 * RampartError through it; a code it does not hold answers 500 and is logged
 * as a programming error, naming the code.
 */
import { errorCatalogue, problemType, type CatalogueEntry, type ErrorCode } from "./catalogue.js";

/**
 * The host app's error codes, declared by module augmentation so that
 * `new RampartError()` accepts them:
 *
 * @example
 * declare module "rampart" {
 *   interface AppErrorCodes { NOTE_LOCKED: true }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by the host app's declaration merging
export interface AppErrorCodes {}

export type AppErrorCode = keyof AppErrorCodes & string;

/** A code a RampartError can carry: a built-in one or one the app declared. */
export type AnyErrorCode = ErrorCode | AppErrorCode;

/** How the app defines one code. */
export interface AppErrorSpec {
  /** HTTP status, 400–599. */
  status: number;
  /** Generic human message for the client (a thrown error may give a more precise one). */
  message: string;
  /** Short summary for problem+json `title` (default: the code in words, "Note locked"). */
  title?: string;
  /** problem+json `type` URI (default `urn:rampart:error:<code in lower case>`). */
  type?: string;
}

/** A catalogue entry with its problem type. */
export interface ResolvedEntry extends CatalogueEntry {
  readonly type: string;
}

/** Upper-case words joined by `_`, a letter first (`NOTE_LOCKED`). */
export const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

export class ErrorCatalogueError extends Error {
  override readonly name = "ErrorCatalogueError";
}

export interface ErrorCatalogue {
  /** The entry of `code`, or undefined when neither Rampart nor the app defines it. */
  entry(code: string): ResolvedEntry | undefined;
  has(code: string): code is AnyErrorCode;
  /** Every code, built-in first. */
  codes(): readonly string[];
}

function titleOf(code: string): string {
  const words = code.toLowerCase().split("_").join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Builds an app's catalogue: the built-in codes plus `app`. Throws
 * ErrorCatalogueError naming the first invalid entry (name format, status
 * outside 400–599, empty message, a built-in name).
 */
export function createErrorCatalogue(app: Readonly<Record<string, AppErrorSpec>> = {}): ErrorCatalogue {
  const entries = new Map<string, ResolvedEntry>();
  for (const [code, entry] of Object.entries(errorCatalogue)) entries.set(code, Object.freeze({ ...entry, type: problemType(code as ErrorCode) }));
  for (const [code, spec] of Object.entries(app)) {
    if (!ERROR_CODE_PATTERN.test(code)) throw new ErrorCatalogueError(`errors: '${code}' is not an error code (UPPER_SNAKE_CASE, e.g. \`NOTE_LOCKED\`)`);
    if (code in errorCatalogue) throw new ErrorCatalogueError(`errors: '${code}' is a built-in error code; choose a name of the app's own`);
    const status = (spec as Partial<AppErrorSpec> | null)?.status;
    if (typeof status !== "number" || !Number.isInteger(status) || status < 400 || status > 599) {
      throw new ErrorCatalogueError(`errors.${code}.status: expected an integer from 400 to 599, instead got '${String(status)}'`);
    }
    if (typeof spec.message !== "string" || spec.message.trim() === "") throw new ErrorCatalogueError(`errors.${code}.message: expected a non-empty string`);
    if (spec.type !== undefined && !/^[a-z][a-z0-9+.-]*:\S+$/i.test(spec.type)) throw new ErrorCatalogueError(`errors.${code}.type: expected a URI, instead got '${spec.type}'`);
    entries.set(code, Object.freeze({ status, message: spec.message, title: spec.title ?? titleOf(code), type: spec.type ?? `urn:rampart:error:${code.toLowerCase()}` }));
  }
  return Object.freeze({
    entry: (code: string) => entries.get(code),
    has: (code: string): code is AnyErrorCode => entries.has(code),
    codes: () => [...entries.keys()],
  });
}

/** Rampart's codes only: what the error handler uses when no app catalogue is given. */
export const builtInErrors: ErrorCatalogue = createErrorCatalogue();
