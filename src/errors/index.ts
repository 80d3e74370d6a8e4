/** Public API of the error catalogue and error type. */
export { errorCatalogue, errorCodes, problemType, docsAnchor, type ErrorCode, type CatalogueEntry } from "./catalogue.js";
export { RampartError, isRampartError, type RampartErrorOptions } from "./rampart-error.js";
export { toEnvelope, toProblem, type ErrorEnvelope, type SuccessEnvelope, type ProblemDocument } from "./envelope.js";
