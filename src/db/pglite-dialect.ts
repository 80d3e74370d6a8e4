/**
 * A Kysely dialect over PGlite (Postgres compiled to WASM) for the embedded mode.
 *
 * Written here rather than taken from a package: PGlite is one connection, so a
 * transaction must hold it exclusively or a concurrent query from another
 * request would run inside that transaction. The driver serializes connection
 * use with a FIFO mutex: Kysely holds the connection from BEGIN to COMMIT, and
 * single queries take it for one statement.
 */
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from "kysely";

/**
 * How long a query may wait for the embedded connection. A transaction that
 * itself runs a query outside the transaction (through the plain Kysely
 * instance) would wait for its own connection forever; this turns that bug
 * into an error naming it instead of a hang.
 */
export const CONNECTION_WAIT_MS = 20_000;

export class ConnectionWaitTimeout extends Error {
  override readonly name = "ConnectionWaitTimeout";
}

/**
 * What the dialect calls on the embedded database: a `PGlite` instance is
 * one. Declared here, not taken from PGlite's package, so that
 * Rampart's type declarations compile in an app that does not install the
 * optional package.
 */
export interface PGliteLike {
  readonly waitReady: Promise<void>;
  query<R>(sql: string, params: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  close(): Promise<void>;
}

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  lock(timeoutMs: number): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const acquired = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectionWaitTimeout(`waited ${timeoutMs} ms for the embedded database connection: is a query running outside a transaction that holds it?`)), timeoutMs);
      timer.unref();
    });
    return Promise.race([acquired, timeout]).then(
      (r) => {
        clearTimeout(timer);
        return r;
      },
      (err: unknown) => {
        // Give the slot back once it comes round, so the queue keeps moving.
        void acquired.then((r) => r());
        throw err;
      },
    );
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly db: PGliteLike) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const res = await this.db.query<R>(compiled.sql, [...compiled.parameters]);
    const command = (res as { command?: string }).command;
    const affected = res.affectedRows ?? 0;
    const isWrite = command === "INSERT" || command === "UPDATE" || command === "DELETE" || command === "MERGE";
    return { rows: res.rows, ...(isWrite ? { numAffectedRows: BigInt(affected) } : {}) };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("streaming queries are not supported on the embedded database");
  }
}

class PGliteDriver implements Driver {
  private readonly mutex = new Mutex();
  private readonly releases = new WeakMap<DatabaseConnection, () => void>();
  private readonly connection: PGliteConnection;

  constructor(private readonly db: PGliteLike) {
    this.connection = new PGliteConnection(db);
  }

  async init(): Promise<void> {
    await this.db.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.mutex.lock(CONNECTION_WAIT_MS);
    this.releases.set(this.connection, release);
    return this.connection;
  }

  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw("begin"));
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw("commit"));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw("rollback"));
  }

  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    const release = this.releases.get(conn);
    this.releases.delete(conn);
    release?.();
  }

  async destroy(): Promise<void> {
    await this.db.close();
  }
}

export class PGliteDialect implements Dialect {
  constructor(private readonly db: PGliteLike) {}
  createDriver(): Driver {
    return new PGliteDriver(this.db);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
