/**
 * Row types of every table, for typed Kysely queries. Each capability's
 * migration adds its tables here.
 */
import type { ColumnType, Generated } from "kysely";

export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** A named lease: at most one holder at a time until `expires_at` (see db/leases.ts). */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: Date;
  acquired_at: Timestamp;
  generation: Generated<number>;
}

export interface Tables {
  rampart_leases: LeasesTable;
}
