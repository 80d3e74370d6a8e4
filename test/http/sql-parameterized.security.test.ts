/**
 * Threat: SQL injection — a value concatenated or interpolated into query
 * text instead of travelling as a bind parameter, or an identifier taken from
 * input. Every query in src/ must be Kysely's query builder or its `sql` tag
 * (parameterized); the few places that pass identifiers or compiled text
 * directly are listed below with the reason they are safe, and a listed
 * reason that stops holding fails here too.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateColumn } from "../../src/crypto/ciphertext-columns.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { ROOT } from "../helpers/process.js";
import { scanSql, type SqlFinding } from "./sql-scan.js";

interface Allowed {
  file: string;
  /** Matches the trimmed source line of the finding. */
  line: RegExp;
  why: string;
}

const ALLOWED: Allowed[] = [
  {
    file: "src/crypto/ciphertext-columns.ts",
    line: /sql\.(?:ref|table)\(c\.(?:idColumn|column|table)\)/,
    // Identifiers of a registered ciphertext column: keyring.registerCiphertextColumn passes every
    // column through validateColumn (a strict SQL-identifier regex), and Kysely quotes them.
    why: "identifiers validated at registration (checked below)",
  },
  {
    file: "src/db/pglite-dialect.ts",
    line: /this\.db\.query<R>\(compiled\.sql, \[\.\.\.compiled\.parameters\]\)/,
    // The embedded database's Kysely driver: the text is Kysely's compiled query, the values go separately.
    why: "Kysely-compiled text with its parameters as bind values",
  },
  {
    file: "src/db/postgres-pool.ts",
    line: /client\.query\(text, parameters as unknown\[\]\)\.then\(undefined, rethrow\)/,
    // The pool adapter under Kysely's PostgreSQL driver (it reclassifies connection failures): the
    // text is Kysely's compiled query, the values go separately.
    why: "Kysely-compiled text with its parameters as bind values",
  },
  {
    file: "src/db/migrate.ts",
    line: /sql\.table\(table\)/,
    // The name of Rampart's or the app's migration table: a constant of TABLES in the same file, never input.
    why: "a migration table name from a constant",
  },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(?:ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

const where = (f: SqlFinding) => `${f.file}:${f.line}: ${f.problem}\n    ${f.text}`;

describe("SQL stays parameterized", () => {
  it("finds no string-built SQL in src/ outside the justified allowlist", () => {
    const findings = sourceFiles(join(ROOT, "src")).flatMap((p) => scanSql(relative(ROOT, p), readFileSync(p, "utf8")));
    const used = new Set<Allowed>();
    const unexplained = findings.filter((f) => {
      const a = ALLOWED.find((x) => x.file === f.file && x.line.test(f.text));
      if (a) used.add(a);
      return !a;
    });
    expect(unexplained.map(where), "string-built SQL (use the query builder or the sql`` tag; see docs/validation.md)").toEqual([]);
    // An allowlist entry that matches nothing any more is stale: remove it.
    expect(ALLOWED.filter((a) => !used.has(a)).map((a) => `${a.file}: ${a.why}`)).toEqual([]);
  });

  it("the scanner catches each way of building SQL from strings (so the scan above means something)", () => {
    const bad = [
      "await sql.raw(`select * from users where email = '${email}'`).execute(db);",
      "await sql.raw(query).execute(db);",
      "const q = sql`select * from users order by ${sql.raw(sort)}`;",
      "sql`select ${sql.lit(value)}`;",
      "sql`select * from ${sql.table(tableName)}`;",
      "sql`select ${sql.ref(column)} from t`;",
      "sql`select ${sql.id(schema, table)} from t`;",
      "db.selectFrom('t').select(db.dynamic.ref(input));",
      "await pool.query(`select * from users where id = ${id}`);",
      "await client.query('select * from users where id = ' + id);",
      "await pglite.exec(`delete from t where id = ${id}`);",
      "await client.query(text, params);",
      "const text = `update users set name = '${name}' where id = ${id}`;",
      "const text = 'delete from sessions where user_id = ' + userId;",
      "await conn.executeQuery(CompiledQuery.raw(text));",
    ];
    for (const line of bad) expect(scanSql("x.ts", line).length, line).toBeGreaterThan(0);
    const good = [
      "await sql`select * from users where email = ${email}`.execute(db);",
      "await sql<{ n: number }>`select count(*)::int as n from t where id > ${after}`.execute(db);",
      "await db.selectFrom('users').where('id', '=', id).selectAll().execute();",
      'sql`select 1 from ${sql.table("rampart_users")}`;',
      'await conn.executeQuery(CompiledQuery.raw("begin"));',
      "await client.query('select 1');",
      "const m = /^(\\d+)$/.exec(input);",
      "log.info(`updated ${n} rows`);",
      "throw new Error(`cannot update ${name}: not found`);",
      "log.info(`selected ${n} rows from the cache`);",
    ];
    for (const line of good) expect(scanSql("x.ts", line).map((f) => f.problem), line).toEqual([]);
  });

  it("reports file and line", () => {
    const [f] = scanSql("src/x.ts", "const a = 1;\n\nawait pool.query(`select ${a}`);\n");
    expect(f).toMatchObject({ file: "src/x.ts", line: 3, text: "await pool.query(`select ${a}`);" });
  });
});

describe("the allowlisted identifiers are validated", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp("embedded");
  });
  afterAll(() => t.close());

  const attacks = ['users; drop table rampart_users; --', 'users"', "users.email --", "a.b.c", "1users", "users where 1=1", ""];

  it("validateColumn refuses anything but plain SQL identifiers", () => {
    for (const table of attacks) expect(() => validateColumn({ table, column: "email", idColumn: "id" }), table).toThrow(/SQL identifier/);
    for (const column of [...attacks, "schema.column"]) expect(() => validateColumn({ table: "users", column, idColumn: "id" }), column).toThrow(/SQL identifier/);
    expect(validateColumn({ table: "public.users", column: "email_ct", idColumn: "id" })).toEqual({ table: "public.users", column: "email_ct", idColumn: "id" });
  });

  it("the runtime's keyring applies it to every registered column", () => {
    expect(() => t.runtime.crypto.registerCiphertextColumn({ table: "users; drop table rampart_users", column: "email", idColumn: "id" })).toThrow(/SQL identifier/);
  });
});
