/**
 * The one migration set, for PGlite and PostgreSQL alike. Names sort in the
 * order they apply; never edit an applied migration, add a new one.
 */
import type { Migration } from "kysely";
import * as m0001 from "./0001-foundation.js";

export const migrations: Record<string, Migration> = {
  "0001-foundation": m0001,
};
