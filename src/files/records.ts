/**
 * File metadata as the API shows it, and the encryption contexts that bind
 * each ciphertext to its file: a blob or name copied onto another file's
 * record fails to decrypt.
 */
import type { EncryptionContext } from "../crypto/index.js";

/** A stored file as listed and returned (never its path or ciphertext). */
export interface FileInfo {
  id: string;
  name: string;
  contentType: string;
  size: number;
  createdAt: string;
}

export function blobContext(id: string): EncryptionContext {
  return { table: "rampart_files", column: "blob", id };
}

export function nameContext(id: string): EncryptionContext {
  return { table: "rampart_files", column: "name", id };
}
