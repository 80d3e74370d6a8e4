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

/** The canonical byte encoding of a context; throws TypeError on a value that is not a string. */
export function canonicalContext(context: EncryptionContext): Buffer {
  const keys = Object.keys(context);
  if (keys.length === 0) return EMPTY;
  const entries = keys.map((k) => {
    const value = context[k];
    if (typeof value !== "string") throw new TypeError(`encryption context values must be strings, instead got ${typeof value} for '${k}'`);
    return [Buffer.from(k, "utf8"), Buffer.from(value, "utf8")] as const;
  });
  entries.sort((a, b) => Buffer.compare(a[0], b[0]));
  let size = 4;
  for (const [k, v] of entries) size += 8 + k.length + v.length;
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt32BE(entries.length, 0);
  for (const [k, v] of entries) {
    o = out.writeUInt32BE(k.length, o);
    o += k.copy(out, o);
    o = out.writeUInt32BE(v.length, o);
    o += v.copy(out, o);
  }
  return out;
}
