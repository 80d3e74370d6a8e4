/**
 * Public API of uploads (`rampart/files`): the files service (sniffed,
 * polyglot-checked uploads encrypted under the owner's key, owner-scoped
 * reads), its blob store, the helpers it is built from, and the routes.
 */
export { Files, createFiles } from "./files.js";
export type { FilesDeps } from "./deps.js";
export type { StagedUpload } from "./upload.js";
export type { FileInfo } from "./records.js";
export { BlobStore } from "./blob-store.js";
export { sanitizeFilename, contentDisposition, MAX_NAME_CHARS } from "./filename.js";
export { PolyglotScanner, hasZipTrailer, type PolyglotFinding } from "./polyglot.js";
export { sniffMime, SNIFF_BYTES } from "./sniff.js";
export { FILE_TYPES, DEFAULT_ALLOWED_TYPES, parseAllowedTypes, specForSniffed, extensionOf, type FileTypeSpec } from "./types.js";
export { fileRoutes, type FileRoutesOptions } from "./routes.js";
