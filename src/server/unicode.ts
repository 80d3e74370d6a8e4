/**
 * Well-formed text at the edge. Every string a request carries into the
 * application must be valid Unicode: invalid UTF-8 bytes are not silently
 * turned into U+FFFD (two different inputs would then store, compare and
 * hash alike), and JSON's `\uD800` escapes cannot smuggle a lone surrogate
 * (which no UTF-8 encoder can write: a database driver, a hash or a log line
 * would replace or reject it somewhere later).
 *
 * The checks cost nothing on ordinary requests: a body is decoded once with a
 * fatal decoder, and only a body that failed to decode or that spells a
 * surrogate escape is walked to name the fields; a query string is split
 * only when it holds a percent sign.
 */

/** One failing field, in the shape of validation errors (`body.name`, `querystring.q`). */
export interface FieldProblem {
  path: string;
  message: string;
}

export const NOT_UNICODE = "is not valid Unicode (malformed UTF-8 or an unpaired surrogate)";

// ignoreBOM keeps a leading BOM in the text, so JSON.parse refuses it as it always did.
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LENIENT_UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** The text of a UTF-8 body, or undefined when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A lone surrogate, the marker of a byte that was not valid UTF-8 (never produced by valid input). */
const INVALID_BYTE_MARK = "\udc80";

/** Length of the well-formed UTF-8 sequence at `i` (Unicode Table 3-7), or 0 when there is none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const lead = b[i]!;
  if (lead < 0x80) return 1;
  let length: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) lo = 0xa0;
    if (lead === 0xed) hi = 0x9f; // encoded surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) lo = 0x90;
    if (lead === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + length > b.length) return 0;
  const second = b[i + 1]!;
  if (second < lo || second > hi) return 0;
  for (let k = 2; k < length; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  return length;
}

/**
 * Decodes bytes that are not valid UTF-8 with each invalid byte replaced by a
 * lone surrogate, so that after parsing, the strings that held invalid bytes
 * are exactly the ill-formed ones and {@link illFormedPaths} can name them.
 * Only for the error path: it walks the bytes in JavaScript.
 */
export function decodeUtf8Marking(bytes: Uint8Array): string {
  let out = "";
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += LENIENT_UTF8.decode(bytes.subarray(start, i)) + INVALID_BYTE_MARK;
    i++;
    start = i;
  }
  return out + LENIENT_UTF8.decode(bytes.subarray(start));
}

// A JSON escape of a surrogate (`\uD800`-`\uDFFF`): the only way valid UTF-8 JSON text can yield one.
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

/** Whether JSON text may parse to an ill-formed string (a surrogate escape, paired or not). */
export function maySpellSurrogates(json: string): boolean {
  return SURROGATE_ESCAPE.test(json);
}

// In `u` mode a surrogate pair is one code point, so this matches only unpaired surrogates
// (String.prototype.isWellFormed, which the ES2023 typings this project compiles against lack).
const UNPAIRED_SURROGATE = /\p{Surrogate}/u;

function wellFormed(s: string): boolean {
  return !UNPAIRED_SURROGATE.test(s);
}

function segment(path: string, key: string | number): string {
  return typeof key === "number" ? `${path}[${key}]` : `${path}.${key}`;
}

/**
 * Paths of the strings in a parsed value that are not well-formed UTF-16
 * (`body.name`, `body.tags[2]`). A property name that is itself ill-formed is
 * reported at its parent, so the answer never carries the broken text.
 * Iterative: nesting depth is bounded only by the body limit.
 */
export function illFormedPaths(value: unknown, root: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      if (!wellFormed(v)) problems.push({ path, message: NOT_UNICODE });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], segment(path, i)]);
    } else if (v !== null && typeof v === "object") {
      for (const key of Object.keys(v)) {
        if (!wellFormed(key)) problems.push({ path, message: "has a property name that is not valid Unicode" });
        else stack.push([(v as Record<string, unknown>)[key], segment(path, key)]);
      }
    }
  }
  return problems;
}

function decodeComponent(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replaceAll("+", " "));
  } catch {
    return undefined;
  }
}

/**
 * The query parameters whose name or value is not valid percent-encoded
 * UTF-8 (`%ff`, a truncated `%e2%82`, an encoded surrogate `%ed%a0%80`, a
 * lone `%`). The router keeps such text undecoded, so without this `%ff`
 * would reach a handler as the literal three characters. Node's parser
 * already refuses raw non-ASCII bytes in the request target, so a query
 * without `%` needs no look.
 */
export function malformedQueryFields(query: string): FieldProblem[] {
  if (!query.includes("%")) return [];
  const problems: FieldProblem[] = [];
  for (const pair of query.split("&")) {
    if (!pair.includes("%")) continue;
    const eq = pair.indexOf("=");
    const name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
    if (name === undefined) problems.push({ path: "querystring", message: "has a parameter name that is not valid percent-encoded UTF-8" });
    else if (eq !== -1 && decodeComponent(pair.slice(eq + 1)) === undefined) problems.push({ path: `querystring.${name}`, message: NOT_UNICODE });
  }
  return problems;
}
