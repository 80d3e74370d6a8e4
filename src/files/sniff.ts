/**
 * Content type from magic bytes (file-type), never from the client's
 * Content-Type or filename. SNIFF_BYTES is what file-type needs to recognise
 * the allowed formats; uploads read that much before deciding.
 */
import { fileTypeFromBuffer } from "file-type";

/** Bytes read from the start of an upload before sniffing (file-type's reasonable detection size). */
export const SNIFF_BYTES = 4100;

/** The MIME type the leading bytes show, or undefined when file-type recognises none. */
export async function sniffMime(head: Uint8Array): Promise<string | undefined> {
  if (head.length === 0) return undefined;
  return (await fileTypeFromBuffer(head))?.mime;
}
