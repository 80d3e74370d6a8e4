/**
 * A registry of secret values that are masked wherever they appear in a log
 * line, including inside longer strings. Every secret loaded is registered
 * here at once (the secrets module does it), with the encodings a value is
 * likely to be printed in: as is, JSON-escaped, base64, base64url and
 * URL-encoded.
 *
 * The pattern is compiled once per registration (not per line), as one
 * alternation sorted longest first so a secret that contains another is masked
 * whole.
 */

export const REDACTED = "[REDACTED]";

/** Values shorter than this are not registered: masking them would shred ordinary text. */
export const MIN_SECRET_LENGTH = 6;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function encodingsOf(value: string): string[] {
  const buf = Buffer.from(value, "utf8");
  const forms = [
    value,
    JSON.stringify(value).slice(1, -1),
    buf.toString("base64"),
    buf.toString("base64").replace(/=+$/, ""),
    buf.toString("base64url"),
    encodeURIComponent(value),
    // JSON escaping of the URL-encoded form is the identity; the JSON escaping of
    // a JSON-escaped value covers secrets logged inside a serialized string.
    JSON.stringify(JSON.stringify(value).slice(1, -1)).slice(1, -1),
  ];
  return [...new Set(forms)].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

export class SecretRedactor {
  private readonly values = new Set<string>();
  private pattern: RegExp | null = null;

  /** Registers a secret value (and its encodings). Returns false when too short to register. */
  register(value: string): boolean {
    if (value.length < MIN_SECRET_LENGTH) return false;
    let added = false;
    for (const form of encodingsOf(value)) {
      if (!this.values.has(form)) {
        this.values.add(form);
        added = true;
      }
    }
    if (added) this.compile();
    return true;
  }

  get size(): number {
    return this.values.size;
  }

  /** Replaces every registered value in `text` with [REDACTED]. */
  mask(text: string): string {
    if (this.pattern === null) return text;
    this.pattern.lastIndex = 0;
    return text.replace(this.pattern, REDACTED);
  }

  private compile(): void {
    const alternatives = [...this.values].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.pattern = new RegExp(alternatives.join("|"), "g");
  }
}
