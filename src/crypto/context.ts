/**
 * Encryption context: a flat map of strings (e.g. `{ table: "users", column:
 * "email", id }`) that is bound to a ciphertext as additional authenticated
 * data. It is not stored in the message; the caller states the expected
 * context on decrypt, so a ciphertext copied to another row, column or tenant
 * fails authentication.
 *
 * Canonical form (unambiguous, independent of insertion order):
 *   u32 count, then per entry sorted by the UTF-8 bytes of the key:
 *   u32 len(key) ‖ key ‖ u32 len(value) ‖ value
 * Length prefixes rule out the `{a:"b=c"}` vs `{"a=b":"c"}` style collisions of
 * naive joins.
 */

/** A flat string map bound to the ciphertext as additional authenticated data. */
export type EncryptionContext = Readonly<Record<string, string>>;

const EMPTY = Buffer.alloc(4);

/** Orders strings by Unicode code point, which is the order of their UTF-8 bytes (UTF-16 code units are not). */
function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** The canonical byte encoding of a context; throws TypeError on a value that is not a string. */
export function canonicalContext(context: EncryptionContext): Buffer {
  const keys = Object.keys(context);
  if (keys.length === 0) return EMPTY;
  let size = 4;
  for (const k of keys) {
    const value = context[k];
    if (typeof value !== "string") throw new TypeError(`encryption context values must be strings, instead got ${typeof value} for '${k}'`);
    size += 8 + Buffer.byteLength(k, "utf8") + Buffer.byteLength(value, "utf8");
  }
  if (keys.length > 1) keys.sort(byCodePoint);
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt32BE(keys.length, 0);
  for (const k of keys) {
    const v = context[k]!;
    const kl = out.write(k, o + 4, "utf8");
    out.writeUInt32BE(kl, o);
    o += 4 + kl;
    const vl = out.write(v, o + 4, "utf8");
    out.writeUInt32BE(vl, o);
    o += 4 + vl;
  }
  return out;
}
