/** What the rotation functions need from a keyring (internal). */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Tables } from "../db/tables.js";
import type { Clock } from "../runtime/clock.js";
import type { CiphertextColumn } from "./ciphertext-columns.js";
import type { DataKeys } from "./data-keys.js";
import type { KekProvider, KekRef } from "./kek/types.js";
import type { SubjectKeyStore } from "./subject-keys.js";

/** Cross-instance notices, published on the kv store so every instance drops the right keys. */
export type KeyringNotice = { type: "rotated" } | { type: "retired"; ref: KekRef } | { type: "shred"; keyId: string };

export interface KeyringParts {
  readonly db: Kysely<Tables>;
  readonly kek: KekProvider;
  readonly subjects: SubjectKeyStore;
  readonly keys: DataKeys;
  readonly columns: readonly CiphertextColumn[];
  readonly log: Logger;
  readonly clock: Clock;
  notify(notice: KeyringNotice): Promise<void>;
}
