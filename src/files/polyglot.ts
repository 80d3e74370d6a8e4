/**
 * Polyglot detection: a file that sniffs as an allowed image or PDF but is
 * also something a browser or another program would run.
 *
 * - Markup near the start: the first HEAD_BYTES are searched for the tags a
 *   browser's HTML sniffing looks for (WHATWG MIME Sniffing §7.1: `<html`,
 *   `<script`, `<!--`, ... followed by a space or `>`), plus `<svg`. Not `<?xml`:
 *   XMP metadata in real photos may carry an XML declaration.
 *   Only tags of three or more letters, so compressed pixel data does not trip it.
 * - Active markup anywhere: `<script`, `<iframe`, `<!doctype`, `javascript:`,
 *   `<object`, `<embed`, `<html`/`<body` followed by a space or `>` (seven or
 *   more significant bytes, so a random match in 10 MiB is below one in a
 *   million).
 * - An archive appended (GIFAR and friends: a GIF or PDF that is also a JAR):
 *   a ZIP end-of-central-directory record whose comment length ends exactly
 *   at the end of the file, as ZIP readers require.
 */

export const HEAD_BYTES = 1024;

const TERMINATORS = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x3e]);
const HEAD_TAGS = ["!doctype", "html", "head", "body", "script", "iframe", "style", "title", "table", "font", "div", "object", "embed", "img", "meta", "link", "form", "base", "svg"];
const ANYWHERE = ["<script", "<iframe", "<!doctype", "javascript:", "<object", "<embed"];
const ANYWHERE_TAGS = ["<html", "<body"];
const CARRY = 16;
const EOCD = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const EOCD_MIN = 22;
const ZIP_TAIL = EOCD_MIN + 0xffff;

/** Why content was refused, for logs and the 415's details. */
export type PolyglotFinding = "markup-at-start" | "active-markup" | "appended-archive";

function lower(chunk: Uint8Array): string {
  // latin1 maps bytes 1:1 to code units, so indexes are byte offsets.
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1").toLowerCase();
}

function tagAt(text: string, tag: string, from: number): boolean {
  for (let i = text.indexOf(tag, from); i !== -1; i = text.indexOf(tag, i + 1)) {
    // At the end of the text the next byte is not known yet: the carry (or finish) decides.
    if (TERMINATORS.has(text.charCodeAt(i + tag.length))) return true;
  }
  return false;
}

/** Scans a stream chunk by chunk with bounded memory (a carry of a few bytes and the last 64 KiB). */
export class PolyglotScanner {
  private head = "";
  private carry = "";
  private tail: Buffer[] = [];
  private tailLength = 0;
  private finding: PolyglotFinding | undefined;

  /** Feeds the next chunk; returns a finding as soon as one is certain. */
  push(chunk: Uint8Array): PolyglotFinding | undefined {
    if (this.finding || chunk.length === 0) return this.finding;
    const text = lower(chunk);
    if (this.head.length < HEAD_BYTES) {
      this.head += text.slice(0, HEAD_BYTES - this.head.length);
      if (HEAD_TAGS.some((t) => tagAt(this.head, `<${t}`, 0)) || this.head.includes("<!--")) return (this.finding = "markup-at-start");
    }
    const window = this.carry + text;
    if (ANYWHERE.some((m) => window.includes(m)) || ANYWHERE_TAGS.some((t) => tagAt(window, t, 0))) return (this.finding = "active-markup");
    this.carry = window.slice(-CARRY);
    this.keepTail(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    return undefined;
  }

  /** Call at the end of the stream: the checks that need the whole file. */
  finish(): PolyglotFinding | undefined {
    if (this.finding) return this.finding;
    // A tag cut by the end of the file (`...<html` as the last bytes) counts too.
    if (this.head.length < HEAD_BYTES && HEAD_TAGS.some((t) => this.head.endsWith(`<${t}`))) return (this.finding = "markup-at-start");
    if (ANYWHERE_TAGS.some((t) => this.carry.endsWith(t))) return (this.finding = "active-markup");
    if (hasZipTrailer(Buffer.concat(this.tail, this.tailLength))) return (this.finding = "appended-archive");
    return undefined;
  }

  private keepTail(b: Buffer): void {
    this.tail.push(b);
    this.tailLength += b.length;
    while (this.tail.length > 1 && this.tailLength - this.tail[0]!.length >= ZIP_TAIL) this.tailLength -= this.tail.shift()!.length;
  }
}

/** Whether `tail` (the last bytes of a file) ends with a ZIP end-of-central-directory record. */
export function hasZipTrailer(tail: Buffer): boolean {
  const start = Math.max(0, tail.length - ZIP_TAIL);
  for (let i = tail.length - EOCD_MIN; i >= start; i--) {
    if (tail[i] === 0x50 && tail.subarray(i, i + 4).equals(EOCD) && i + EOCD_MIN + tail.readUInt16LE(i + 20) === tail.length) return true;
  }
  return false;
}
