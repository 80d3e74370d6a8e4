/**
 * Client filenames are display names only: the blob is stored under a random
 * id, never under anything the client sent. The name is still cleaned, since
 * it is shown to users and sent back in `Content-Disposition`: NFC (one
 * spelling per name), the last path segment only (browsers may send a full
 * path), no control, bidirectional-override or zero-width characters (which
 * disguise extensions: `gnp.exe` shown as `exe.png`), no separators or
 * leading dots, and at most MAX_NAME_CHARS code points with the extension kept.
 */

export const MAX_NAME_CHARS = 200;

// C0, DEL, C1; Arabic letter mark; zero-width and directional marks; bidi embeddings,
// overrides and isolates; BOM / zero-width no-break space; separators of any OS.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff/\\]/gu;

/** The display name to store for a client filename ("" when nothing usable is left). */
export function sanitizeFilename(raw: string): string {
  let s = raw.normalize("NFC");
  s = s.slice(Math.max(s.lastIndexOf("/"), s.lastIndexOf("\\")) + 1);
  s = s.replace(UNSAFE, "").trim();
  s = s.replace(/^[.\s]+/u, "").replace(/[.\s]+$/u, "");
  const chars = Array.from(s);
  if (chars.length <= MAX_NAME_CHARS) return s;
  const dot = s.lastIndexOf(".");
  const ext = dot > 0 ? Array.from(s.slice(dot)) : [];
  if (ext.length > 16) return chars.slice(0, MAX_NAME_CHARS).join("");
  return chars.slice(0, MAX_NAME_CHARS - ext.length).join("").trimEnd() + ext.join("");
}

// RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
function encodeExtValue(s: string): string {
  return encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `Content-Disposition: attachment` for a stored name (RFC 6266 §4.3): an
 * ASCII `filename` fallback for old clients and the exact name in
 * `filename*` (RFC 8187, UTF-8).
 */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\%]/g, "_") || "file";
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeExtValue(name || "file")}`;
}
