/** What the upload core needs from the runtime, as one object (built by createFiles). */
import type { Kysely } from "kysely";
import type { Keyring } from "../crypto/index.js";
import type { Tables } from "../db/index.js";
import type { Logger } from "../log/index.js";
import type { Quotas } from "../quotas/index.js";
import type { Clock } from "../runtime/index.js";
import type { BlobStore } from "./blob-store.js";

export interface FilesDeps {
  db: Kysely<Tables>;
  keyring: Keyring;
  store: BlobStore;
  clock: Clock;
  log: Logger;
  /** Counts `files.bytes`; without it uploads are not metered. */
  quotas?: Quotas | undefined;
  /** UPLOAD_MAX_BYTES. */
  maxBytes: number;
  /** UPLOAD_ALLOWED_TYPES (names from types.ts). */
  allowedTypes: readonly string[];
}
