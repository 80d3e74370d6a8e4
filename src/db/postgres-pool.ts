/**
 * The PostgreSQL pool as Kysely sees it. Two jobs on top of pg's pool:
 *
 * - Failures are classified: a connection that cannot be opened (refused,
 *   unreachable, password or role refused, certificate refused) and one lost
 *   mid-query are DatabaseUnavailableError (503 with Retry-After, never 500),
 *   with a message saying why (connect-failure.ts). Query errors (constraint
 *   violations, serialization failures) pass through unchanged, so callers
 *   still read their SQLSTATE.
 * - The connection URL may change while the process runs, when it comes from
 *   a secret (`database-url`) that is rotated. A changed URL starts a new pg
 *   pool for every new connection and retires the old one: connections it
 *   has lent out finish their work and close, requests queued on it are
 *   served first. PostgreSQL checks a password only when a connection opens,
 *   so the change is noticed two ways: the secret's rotation callback, and a
 *   new connection refused for its credentials (SQLSTATE 28P01 / 28000),
 *   which re-reads the secret from its provider at once and keeps re-reading
 *   it for AUTH_RETRY_MS, so that a password changed in the database just
 *   before the secret is updated costs a short wait, not a failed request.
 */
import pg from "pg";
import type { PostgresPool, PostgresPoolClient } from "kysely";
import type { Logger } from "../log/logger.js";
import { connectFailure, isAuthFailure, type ConnectContext } from "./connect-failure.js";
import { parsePostgresUrl, type PostgresTarget } from "./postgres-url.js";
import { AUTH_RETRY_MS, type DatabaseUrlSource } from "./url-source.js";
import { classifyDatabaseError } from "./unavailable.js";

/** Pause between two reads of the secret while the credentials are refused. */
const REREAD_INTERVAL_MS = 250;
/** Reads of the secret closer together than this share the last answer (concurrent checkouts, a wrong password under load). */
const REREAD_MIN_GAP_MS = 200;
const CONNECT_TIMEOUT_MS = 5_000;
const IDLE_TIMEOUT_MS = 30_000;

export interface PostgresConnectionsOptions {
  /** The URL to connect with first. */
  url: string;
  /** Set when the URL can change (a secret); without it the URL is fixed (DATABASE_URL). */
  source?: DatabaseUrlSource | undefined;
  max: number;
  /** TLS options for pg, derived from DATABASE_SSL and DATABASE_SSL_CA. */
  ssl: pg.PoolConfig["ssl"];
  context: ConnectContext;
  types: pg.PoolConfig["types"];
  log?: Logger | undefined;
}

interface Generation {
  readonly url: string;
  readonly pool: pg.Pool;
}

export class PostgresConnections implements PostgresPool {
  private current: Generation;
  /** Pools of earlier URLs, until their last connection is closed. */
  private readonly retiring = new Map<pg.Pool, Promise<void> | undefined>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unwatch: (() => void) | undefined;
  /** When the current credentials were first refused; reset by a successful connect or a new URL. */
  private authFailingSince: number | undefined;
  private reading: Promise<string | undefined> | undefined;
  private lastRead: { at: number; url: string | undefined } | undefined;
  private ending: Promise<void> | undefined;
  // One adapter per pg client, as Kysely keeps one connection object per client it is given.
  private readonly adapters = new WeakMap<pg.PoolClient, PostgresPoolClient>();

  constructor(private readonly options: PostgresConnectionsOptions) {
    this.current = this.generation(options.url, parsePostgresUrl(options.url));
    this.unwatch = options.source?.watch((url) => this.use(url));
  }

  async connect(): Promise<PostgresPoolClient> {
    for (;;) {
      const generation = this.current;
      let client: pg.PoolClient;
      try {
        client = await generation.pool.connect();
      } catch (err) {
        if (this.ending) throw connectFailure(err, this.options.context);
        // The URL changed while this checkout waited on the old pool: take a connection of the new one.
        if (generation !== this.current) continue;
        if (isAuthFailure(err) && (await this.recoverCredentials(generation))) continue;
        throw connectFailure(err, this.options.context);
      }
      this.authFailingSince = undefined;
      return this.adapt(client);
    }
  }

  /** Connections of every pool, the retiring ones included. */
  stats(): { total: number; idle: number; waiting: number } {
    const pools = [this.current.pool, ...this.retiring.keys()];
    return {
      total: pools.reduce((n, p) => n + p.totalCount, 0),
      idle: pools.reduce((n, p) => n + p.idleCount, 0),
      waiting: pools.reduce((n, p) => n + p.waitingCount, 0),
    };
  }

  end(): Promise<void> {
    this.ending ??= (async () => {
      this.unwatch?.();
      for (const t of this.timers) clearInterval(t);
      this.timers.clear();
      const pools = [this.current.pool, ...this.retiring.keys()];
      await Promise.all(pools.map((p) => this.retiring.get(p) ?? p.end()));
    })();
    return this.ending;
  }

  /**
   * Connects new clients with `url` from now on when it differs from the
   * current one, retiring the current pool; false when it is the same, or
   * not a valid PostgreSQL URL (logged without the value; the current one
   * stays in use).
   */
  use(url: string): boolean {
    if (this.ending || url === this.current.url) return false;
    let target: PostgresTarget;
    try {
      target = parsePostgresUrl(url);
    } catch (err) {
      this.options.log?.error(
        { event: "database.url_invalid", source: this.options.context.source, reason: err instanceof Error ? err.message : String(err) },
        `the new value of ${this.options.context.source} is not a usable PostgreSQL URL; connections keep the previous one`,
      );
      return false;
    }
    const old = this.current;
    this.current = this.generation(url, target);
    this.authFailingSince = undefined;
    this.retire(old.pool);
    this.options.log?.info(
      { event: "database.url_changed", source: this.options.context.source },
      "the database connection URL changed: new connections use the new one, open ones finish their work and close",
    );
    return true;
  }

  /**
   * After the current credentials were refused: re-reads the URL until it
   * changes (true: connect again) or AUTH_RETRY_MS have passed since they
   * were first refused (false). Without a source nothing can change.
   */
  private async recoverCredentials(failed: Generation): Promise<boolean> {
    if (this.options.source === undefined) return false;
    if (this.authFailingSince === undefined) {
      this.authFailingSince = Date.now();
      this.options.log?.warn(
        { event: "database.credentials_refused", source: this.options.context.source },
        `PostgreSQL refused the credentials of ${this.options.context.source}: reading it again`,
      );
    }
    const since = this.authFailingSince;
    for (;;) {
      const url = await this.reread();
      if (this.current !== failed || this.ending) return this.current !== failed;
      if (url !== undefined && this.use(url)) return true;
      if (Date.now() - since >= AUTH_RETRY_MS) return false;
      await new Promise((r) => setTimeout(r, REREAD_INTERVAL_MS));
    }
  }

  /** The URL from its provider; concurrent and closely spaced calls share one read. Undefined when the read fails (the secrets module logs why). */
  private reread(): Promise<string | undefined> {
    const source = this.options.source!;
    const last = this.lastRead;
    if (last !== undefined && Date.now() - last.at < REREAD_MIN_GAP_MS) return Promise.resolve(last.url);
    this.reading ??= source
      .reread()
      .then(
        (url) => url,
        () => undefined,
      )
      .then((url) => {
        this.lastRead = { at: Date.now(), url };
        this.reading = undefined;
        return url;
      });
    return this.reading;
  }

  private generation(url: string, target: PostgresTarget): Generation {
    const { max, ssl, types } = this.options;
    const pool = new pg.Pool({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      application_name: target.applicationName,
      options: target.options,
      ssl,
      max,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: IDLE_TIMEOUT_MS,
      types,
    });
    // A client losing its connection (database restart, network cut, a terminated
    // backend) must not crash the process: idle ones emit on the pool, busy ones on
    // themselves; the query in flight still fails with the error, and the pool replaces the client.
    pool.on("error", () => undefined);
    pool.on("connect", (client) => client.on("error", () => undefined));
    return { url, pool };
  }

  /** Ends `pool` once no checkout waits on it: pg's end() would leave queued ones to time out. */
  private retire(pool: pg.Pool): void {
    this.retiring.set(pool, undefined);
    const tryEnd = (): boolean => {
      if (pool.waitingCount > 0) return false;
      this.retiring.set(
        pool,
        pool.end().then(
          () => void this.retiring.delete(pool),
          () => void this.retiring.delete(pool),
        ),
      );
      return true;
    };
    if (tryEnd()) return;
    const timer = setInterval(() => {
      if (!tryEnd()) return;
      clearInterval(timer);
      this.timers.delete(timer);
    }, 50);
    timer.unref();
    this.timers.add(timer);
  }

  private adapt(client: pg.PoolClient): PostgresPoolClient {
    let adapter = this.adapters.get(client);
    if (!adapter) {
      adapter = {
        // Text and parameters only: the dialect has no `cursor`, so Kysely never passes one.
        query: ((text: string, parameters: readonly unknown[]) => client.query(text, parameters as unknown[]).then(undefined, rethrow)) as PostgresPoolClient["query"],
        // pg-pool sets a fresh `release` on every checkout: look it up at call time.
        release: () => client.release(),
      };
      this.adapters.set(client, adapter);
    }
    return adapter;
  }
}

function rethrow(err: unknown): never {
  throw classifyDatabaseError(err);
}
