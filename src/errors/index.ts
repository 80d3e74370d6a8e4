/** Public API of the error catalogue and error type. */
export { errorCatalogue, errorCodes, problemType, docsAnchor, type ErrorCode, type CatalogueEntry } from "./catalogue.js";
export {
  createErrorCatalogue,
  builtInErrors,
  ErrorCatalogueError,
  ERROR_CODE_PATTERN,
  type ErrorCatalogue,
  type AppErrorCodes,
  type AppErrorCode,
  type AnyErrorCode,
  type AppErrorSpec,
  type ResolvedEntry,
} from "./registry.js";
export { RampartError, isRampartError, type RampartErrorOptions } from "./rampart-error.js";
export { toEnvelope, toProblem, type ErrorEnvelope, type SuccessEnvelope, type ProblemDocument } from "./envelope.js";
