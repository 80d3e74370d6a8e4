/**
 * Opaque keyset-pagination cursors over (timestamp, id): what a list endpoint
 * hands out as `nextCursor` and takes back as `?cursor=`. A cursor that does
 * not decode is a 400 naming the query parameter.
 */
import { RampartError } from "../errors/index.js";

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString("base64url");
}

export function decodeCursor(cursor: string): [Date, string] {
  try {
    const [t, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
    const d = new Date(t);
    if (typeof id !== "string" || Number.isNaN(d.getTime())) throw new Error("bad cursor");
    return [d, id];
  } catch {
    throw new RampartError("VALIDATION_FAILED", { details: { fields: [{ path: "querystring.cursor", message: "is not a cursor returned by this API" }] } });
  }
}
