/**
 * The file types uploads may have. Each is named in UPLOAD_ALLOWED_TYPES by a
 * short name, is recognised by its magic bytes (the MIME types file-type
 * reports for it) and is served with one content type; a client filename
 * must end in one of its extensions. Nothing outside this table can be
 * allowed: text formats a browser may render as a document (SVG, HTML, XML)
 * are not in it by design.
 */
import { ConfigValueError } from "../config/parsers.js";

export interface FileTypeSpec {
  /** Name in UPLOAD_ALLOWED_TYPES. */
  readonly name: string;
  /** Content type stored and served. */
  readonly contentType: string;
  /** MIME types file-type reports for this format (APNG is a PNG a viewer may animate). */
  readonly sniffed: readonly string[];
  /** Accepted filename extensions, lower case, without the dot. */
  readonly extensions: readonly string[];
}

export const FILE_TYPES: readonly FileTypeSpec[] = [
  { name: "png", contentType: "image/png", sniffed: ["image/png", "image/apng"], extensions: ["png"] },
  { name: "jpeg", contentType: "image/jpeg", sniffed: ["image/jpeg"], extensions: ["jpg", "jpeg"] },
  { name: "gif", contentType: "image/gif", sniffed: ["image/gif"], extensions: ["gif"] },
  { name: "webp", contentType: "image/webp", sniffed: ["image/webp"], extensions: ["webp"] },
  { name: "pdf", contentType: "application/pdf", sniffed: ["application/pdf"], extensions: ["pdf"] },
];

export const DEFAULT_ALLOWED_TYPES = "png,jpeg,gif,webp,pdf";

/** Parses UPLOAD_ALLOWED_TYPES: a comma-separated, non-empty subset of the names above. */
export function parseAllowedTypes(raw: string): string[] {
  const names = raw
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const known = FILE_TYPES.map((t) => t.name);
  if (names.length === 0 || names.some((n) => !known.includes(n))) throw new ConfigValueError(`a comma-separated list of ${known.join(", ")}`);
  return [...new Set(names)];
}

/** The allowed spec a sniffed MIME type belongs to, if any. */
export function specForSniffed(allowed: readonly string[], mime: string): FileTypeSpec | undefined {
  return FILE_TYPES.find((t) => allowed.includes(t.name) && t.sniffed.includes(mime));
}

/** The lower-cased extension of a filename ("" when it has none). */
export function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf(".");
  return dot <= 0 || dot === filename.length - 1 ? "" : filename.slice(dot + 1).toLowerCase();
}
