/** Public API of storage: opening the database, migrations, leases, row types. */
export { openDatabase, type Database, type DatabaseConfig, type OpenDatabaseOptions, type PoolStats } from "./database.js";
export { AUTH_RETRY_MS, type DatabaseUrlSource } from "./url-source.js";
export { parsePostgresUrl, isLoopbackHost, type PostgresTarget } from "./postgres-url.js";
export { migrateToLatest, pendingMigrations, pendingAppMigrations, checkAppMigrations, type AppMigrations, type MigrationOutcome } from "./migrate.js";
export { acquireLease, releaseLease } from "./leases.js";
export { DataDirLockedError } from "./data-dir-lock.js";
export { CIPHERTEXT_COLUMNS, type Tables, type Timestamp } from "./tables.js";
export { DatabaseUnavailableError, isConnectionFailure, DATABASE_RETRY_AFTER_SECONDS } from "./unavailable.js";
