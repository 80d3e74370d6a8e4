/**
 * The PostgreSQL connections behind a rotating URL, on the shared test
 * server: a new value that is not a PostgreSQL URL is refused and logged
 * without the value (connections keep the old one); a checkout queued on the
 * old pool when the URL changes moves to the new one, and the old pool ends
 * once its last connection is returned; a checkout after `end()` fails as an
 * outage instead of hanging.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DatabaseUnavailableError } from "../../src/db/index.js";
import { PostgresConnections } from "../../src/db/postgres-pool.js";
import type { DatabaseUrlSource } from "../../src/db/url-source.js";
import { createLogger, SecretRedactor } from "../../src/log/index.js";
import { failure, pollUntil } from "../helpers/async.js";
import { LogCapture } from "../helpers/logs.js";
import { serviceUrl } from "../helpers/services.js";

/** A URL source the test changes by hand. */
class ManualSource implements DatabaseUrlSource {
  readonly label = "secret database-url";
  private listener: ((url: string) => void) | undefined;
  constructor(public url: string) {}
  reread(): Promise<string> {
    return Promise.resolve(this.url);
  }
  watch(onChange: (url: string) => void): () => void {
    this.listener = onChange;
    return () => (this.listener = undefined);
  }
  change(url: string): void {
    this.url = url;
    this.listener?.(url);
  }
}

const withName = (name: string) => {
  const u = new URL(serviceUrl("TEST_DATABASE_URL"));
  u.searchParams.set("application_name", name);
  return u.toString();
};

describe("PostgreSQL connections behind a changing URL", { timeout: 30_000 }, () => {
  const open: PostgresConnections[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.end();
  });

  function connections(url: string, max = 2) {
    const logs = new LogCapture();
    const source = new ManualSource(url);
    const pool = new PostgresConnections({
      url,
      source,
      max,
      ssl: false,
      context: { source: source.label, ssl: "disable" },
      types: undefined,
      log: createLogger({ level: "info", format: "json", redactor: new SecretRedactor(), destination: logs }),
    });
    open.push(pool);
    return { pool, source, logs };
  }

  const appName = async (pool: PostgresConnections) => {
    const client = await pool.connect();
    try {
      const { rows } = await client.query("select current_setting('application_name') as name", []);
      return (rows[0] as { name: string }).name;
    } finally {
      client.release();
    }
  };

  it("refuses a new value that is not a PostgreSQL URL, logging it without the value, and keeps the old one", async () => {
    const { pool, source, logs } = connections(withName("rampart-first"));
    expect(await appName(pool)).toBe("rampart-first");
    const garbled = "mysql://root:hunter2-not-this@db.internal/app";
    source.change(garbled);
    expect(await appName(pool)).toBe("rampart-first");
    const record = logs.records().find((r) => r.event === "database.url_invalid");
    expect(record).toMatchObject({ level: "error", source: "secret database-url", msg: "the new value of secret database-url is not a usable PostgreSQL URL; connections keep the previous one" });
    expect(typeof record!.reason).toBe("string");
    expect(logs.text).not.toContain("hunter2-not-this");
    // A valid change afterwards is still taken.
    source.change(withName("rampart-second"));
    expect(await appName(pool)).toBe("rampart-second");
  });

  it("moves a checkout queued on the old pool to the new one, and ends the old pool when its last connection returns", async () => {
    const { pool, source, logs } = connections(withName("rampart-old"), 1);
    const held = await pool.connect();
    const queued = pool.connect();
    await pollUntil(async () => pool.stats().waiting, (n) => n === 1, 2_000);
    source.change(withName("rampart-new"));
    expect(logs.records().some((r) => r.event === "database.url_changed")).toBe(true);
    // The old pool is full: the queued checkout gives up on it (connect timeout) and takes a connection of the new pool.
    const moved = await queued;
    try {
      const { rows } = await moved.query("select current_setting('application_name') as name", []);
      expect((rows[0] as { name: string }).name).toBe("rampart-new");
    } finally {
      moved.release();
    }
    expect(pool.stats().total).toBe(2);
    held.release();
    const after = await pollUntil(async () => pool.stats().total, (n) => n === 1, 5_000);
    expect(after).toBe(1);
  });

  it("fails a checkout after end() as an outage", async () => {
    const { pool } = connections(withName("rampart-ending"));
    expect(await appName(pool)).toBe("rampart-ending");
    await pool.end();
    expect(await failure(pool.connect())).toBeInstanceOf(DatabaseUnavailableError);
  });
});
