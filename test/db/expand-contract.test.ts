/**
 * Expand, then contract: during a rolling upgrade the instances of the
 * previous release run against the schema the new release migrated, so
 * every migration must leave that release's queries working. Each step of
 * the migration set is applied to a real database (PGlite, and PostgreSQL
 * when configured) and the catalog before and after it is compared: a step
 * may add tables, nullable or defaulted columns, indexes, and constraints on
 * its own new columns; it may not drop or retype a table or column, make a
 * column required, or add a constraint, unique index or trigger that the
 * previous release's writes could violate.
 *
 * A contract step is allowed only as declared: the migration module exports
 * `contract` (what it removes or tightens, `table` or `table.column`), and
 * an earlier migration exported the same names as `retires` (from its
 * release on, the code no longer reads or writes them), which the current
 * row types (src/db/tables.ts) must no longer hold.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Migrator, sql, type Kysely, type Migration } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/index.js";
import { migrations } from "../../src/db/migrations/index.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { ROOT } from "../helpers/process.js";

interface Column {
  type: string;
  nullable: boolean;
  default: string | null;
}
interface Constraint {
  table: string;
  kind: string;
  def: string;
  columns: string[];
}
interface Index {
  table: string;
  unique: boolean;
  def: string;
  columns: string[];
}
interface Catalog {
  tables: Map<string, Map<string, Column>>;
  constraints: Map<string, Constraint>;
  indexes: Map<string, Index>;
  triggers: Set<string>;
}

const BOOKKEEPING = new Set(["rampart_migrations", "rampart_migrations_lock"]);
const split = (s: string | null) => (s ? s.split(",") : []);

/** The catalog of the current schema: columns, constraints (not-null ones are column facts), indexes, triggers. */
async function catalog(db: Kysely<any>, only: (table: string) => boolean = (t) => !BOOKKEEPING.has(t)): Promise<Catalog> {
  const columns = await sql<{ table: string; column: string; type: string; len: number | null; nullable: string; def: string | null }>`
    select table_name as "table", column_name as "column", udt_name as type, character_maximum_length as len, is_nullable as nullable, column_default as def
    from information_schema.columns where table_schema = current_schema()`.execute(db);
  const constraints = await sql<{ table: string; name: string; kind: string; def: string; columns: string | null }>`
    select rel.relname as "table", con.conname as name, con.contype::text as kind, pg_get_constraintdef(con.oid) as def,
      (select string_agg(a.attname::text, ',' order by a.attname) from pg_attribute a where a.attrelid = con.conrelid and a.attnum = any(con.conkey)) as columns
    from pg_constraint con join pg_class rel on rel.oid = con.conrelid join pg_namespace n on n.oid = rel.relnamespace
    where n.nspname = current_schema() and con.contype <> 'n'`.execute(db);
  const indexes = await sql<{ table: string; name: string; unique: boolean; def: string; columns: string | null }>`
    select t.relname as "table", i.relname as name, ix.indisunique as "unique", pg_get_indexdef(ix.indexrelid) as def,
      (select string_agg(a.attname::text, ',' order by a.attname) from pg_attribute a where a.attrelid = t.oid and a.attnum = any(ix.indkey)) as columns
    from pg_index ix join pg_class i on i.oid = ix.indexrelid join pg_class t on t.oid = ix.indrelid join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = current_schema()`.execute(db);
  const triggers = await sql<{ table: string; name: string }>`
    select c.relname as "table", tg.tgname as name from pg_trigger tg join pg_class c on c.oid = tg.tgrelid join pg_namespace n on n.oid = c.relnamespace
    where not tg.tgisinternal and n.nspname = current_schema()`.execute(db);
  const out: Catalog = { tables: new Map(), constraints: new Map(), indexes: new Map(), triggers: new Set() };
  for (const c of columns.rows.filter((r) => only(r.table))) {
    if (!out.tables.has(c.table)) out.tables.set(c.table, new Map());
    out.tables.get(c.table)!.set(c.column, { type: c.len ? `${c.type}(${c.len})` : c.type, nullable: c.nullable === "YES", default: c.def });
  }
  for (const c of constraints.rows.filter((r) => only(r.table))) out.constraints.set(`${c.table}:${c.name}`, { table: c.table, kind: c.kind, def: c.def, columns: split(c.columns) });
  for (const i of indexes.rows.filter((r) => only(r.table))) out.indexes.set(`${i.table}:${i.name}`, { table: i.table, unique: i.unique, def: i.def, columns: split(i.columns) });
  for (const t of triggers.rows.filter((r) => only(r.table))) out.triggers.add(`${t.table}:${t.name}`);
  return out;
}

/** What one step did that the previous release's queries may not survive, by subject (`table` or `table.column`). */
interface Violation {
  subject: string;
  what: string;
}

/** Constraint kinds whose addition can refuse a write: check, foreign key, primary key, unique, exclusion. */
const REFUSING = new Set(["c", "f", "p", "u", "x"]);

function violations(before: Catalog, after: Catalog): Violation[] {
  const out: Violation[] = [];
  const existing = (table: string, cols: string[]) => cols.filter((c) => before.tables.get(table)?.has(c));
  const subjectOf = (table: string, cols: string[]) => (cols.length === 1 ? `${table}.${cols[0]}` : table);
  for (const [table, cols] of before.tables) {
    const now = after.tables.get(table);
    if (!now) {
      out.push({ subject: table, what: `drops table ${table}` });
      continue;
    }
    for (const [name, col] of cols) {
      const c = now.get(name);
      if (!c) out.push({ subject: `${table}.${name}`, what: `drops (or renames) column ${table}.${name}` });
      else {
        if (c.type !== col.type) out.push({ subject: `${table}.${name}`, what: `changes the type of ${table}.${name} from ${col.type} to ${c.type}` });
        if (col.nullable && !c.nullable) out.push({ subject: `${table}.${name}`, what: `makes ${table}.${name} NOT NULL` });
        if (col.default !== null && c.default === null && !c.nullable) out.push({ subject: `${table}.${name}`, what: `drops the default of the required column ${table}.${name}` });
      }
    }
    for (const [name, c] of now) {
      if (!cols.has(name) && !c.nullable && c.default === null) out.push({ subject: `${table}.${name}`, what: `adds ${table}.${name} NOT NULL without a default (the previous release's inserts do not set it)` });
    }
  }
  for (const [key, con] of after.constraints) {
    const was = before.constraints.get(key);
    if (!REFUSING.has(con.kind) || (was && was.def === con.def)) continue;
    const touched = existing(con.table, con.columns);
    if (touched.length > 0) out.push({ subject: subjectOf(con.table, touched), what: `${was ? "changes" : "adds"} constraint ${key} (${con.def}) on existing columns` });
  }
  for (const [key, con] of before.constraints) {
    if (!after.constraints.has(key) && ["p", "u", "x"].includes(con.kind) && after.tables.has(con.table)) out.push({ subject: subjectOf(con.table, con.columns), what: `drops constraint ${key} (an ON CONFLICT of the previous release may rely on it)` });
  }
  for (const [key, ix] of after.indexes) {
    if (!ix.unique || before.indexes.has(key) || after.constraints.has(key)) continue;
    const touched = existing(ix.table, ix.columns);
    if (touched.length > 0 || (ix.columns.length === 0 && before.tables.has(ix.table))) out.push({ subject: subjectOf(ix.table, touched), what: `adds unique index ${key} on existing data (${ix.def})` });
  }
  for (const [key, ix] of before.indexes) {
    if (ix.unique && !after.indexes.has(key) && !before.constraints.has(key) && after.tables.has(ix.table)) out.push({ subject: subjectOf(ix.table, ix.columns), what: `drops unique index ${key} (an ON CONFLICT of the previous release may rely on it)` });
  }
  for (const key of after.triggers) {
    const table = key.split(":")[0]!;
    if (!before.triggers.has(key) && before.tables.has(table)) out.push({ subject: table, what: `adds trigger ${key} on a table the previous release writes` });
  }
  return out;
}

type Marked = Migration & { contract?: readonly string[]; retires?: readonly string[] };

/** Applies `set` one migration at a time; returns the problems of each step not covered by a declared contract. */
async function checkSteps(db: Kysely<any>, set: Record<string, Marked>, codeTables: Map<string, Set<string>>, only?: (table: string) => boolean, migrationTableName = "rampart_migrations"): Promise<string[]> {
  const names = Object.keys(set).sort();
  const migrator = new Migrator({ db, provider: { getMigrations: async () => set }, migrationTableName, migrationLockTableName: `${migrationTableName}_lock` });
  const problems: string[] = [];
  const retired = new Set<string>();
  let before = await catalog(db, only);
  for (const name of names) {
    const result = await migrator.migrateTo(name);
    if (result.error) throw result.error;
    const after = await catalog(db, only);
    const declared = new Set(set[name]!.contract ?? []);
    for (const v of violations(before, after)) {
      if (!declared.has(v.subject)) problems.push(`${name} ${v.what}: not expand-only, and '${v.subject}' is not in its contract`);
    }
    for (const subject of declared) {
      if (!retired.has(subject)) problems.push(`${name} contracts '${subject}', which no earlier migration retires`);
    }
    for (const subject of set[name]!.retires ?? []) {
      retired.add(subject);
      const [table, column] = subject.split(".");
      if (column === undefined ? codeTables.has(table!) : codeTables.get(table!)?.has(column)) problems.push(`${name} retires '${subject}', which src/db/tables.ts still declares`);
    }
    before = after;
  }
  return problems;
}

/** Table → columns of the row types the code queries through (src/db/tables.ts). */
function codeTables(): Map<string, Set<string>> {
  const text = readFileSync(join(ROOT, "src/db/tables.ts"), "utf8");
  const body = (iface: string) => new RegExp(`export interface ${iface} \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1] ?? "";
  const out = new Map<string, Set<string>>();
  for (const [, table, iface] of body("Tables").matchAll(/^\s+(\w+): (\w+);/gm)) {
    out.set(table!, new Set([...body(iface!).matchAll(/^\s+(\w+)\??:/gm)].map((m) => m[1]!)));
  }
  return out;
}

describe.each(testModes())("migrations expand, then contract (%s)", (mode) => {
  let env: TestEnv;
  let database: Database;
  beforeAll(async () => {
    env = await createTestEnv(mode, {}, { schema: "empty" });
    database = await openDatabase(env.config);
  });
  afterAll(async () => {
    await database.close();
    await env.cleanup();
  });

  it("reads the row types the code queries through", () => {
    const tables = codeTables();
    expect(tables.get("rampart_users")).toContain("email_verified_at");
    expect(tables.get("rampart_api_keys")).toContain("parent_id");
    expect(tables.size).toBeGreaterThan(15);
  });

  it("every step of Rampart's migration set is expand-only or a declared contract of retired columns", async () => {
    const problems = await checkSteps(database.kysely, migrations as Record<string, Marked>, codeTables());
    expect(problems).toEqual([]);
    // The whole set ran: the newest migration's columns are there.
    const last = await catalog(database.kysely);
    expect(last.tables.get("rampart_outbox")?.has("trace_id")).toBe(true);
  });

  describe("the checker", () => {
    // Each case runs on tables of its own in the same database.
    let n = 0;
    const run = async (steps: (t: string) => Record<string, Marked>, code: Map<string, Set<string>> = new Map()) => {
      const t = `xc_case${++n}`;
      const set = Object.fromEntries(Object.entries(steps(t)).map(([k, v]) => [`${t}-${k}`, v]));
      return checkSteps(database.kysely, set, code, (table) => table.startsWith(`${t}_`), `xcm_${t}`);
    };
    const base = (t: string): Record<string, Marked> => ({
      "1-base": {
        up: async (db) => {
          await sql.raw(`create table ${t}_items (id text primary key, name text not null, note text, kind text not null default 'a', size integer)`).execute(db);
          await sql.raw(`create unique index ${t}_items_name on ${t}_items (name)`).execute(db);
        },
      },
    });
    const step = (t: string, statement: string, marks: Pick<Marked, "contract" | "retires"> = {}): Record<string, Marked> => ({
      ...base(t),
      "2-step": {
        up: async (db) => {
          // One statement per call: ` ;; ` separates them.
          for (const one of statement.replaceAll("$t", t).split(" ;; ")) await sql.raw(one).execute(db);
        },
        ...marks,
      },
    });

    it("accepts what the previous release cannot notice: a new table, a nullable or defaulted column, an index, a constraint on a new column", async () => {
      const problems = await run((t) => ({
        ...base(t),
        "2-expand": {
          up: async (db) => {
            await sql.raw(`create table ${t}_more (id text primary key, item_id text not null references ${t}_items (id))`).execute(db);
            await sql.raw(`alter table ${t}_items add column trace_id text, add column tries integer not null default 0, add column parent_id text references ${t}_items (id)`).execute(db);
            await sql.raw(`alter table ${t}_items add constraint ${t}_tries check (tries >= 0)`).execute(db);
            await sql.raw(`create index ${t}_items_note on ${t}_items (note)`).execute(db);
            await sql.raw(`alter table ${t}_items alter column kind set default 'b'`).execute(db);
          },
        },
      }));
      expect(problems).toEqual([]);
    });

    it.each([
      ["alter table $t_items drop column note", "drops (or renames) column xc_caseN_items.note"],
      ["alter table $t_items rename column note to remark", "drops (or renames) column xc_caseN_items.note"],
      ["drop table $t_items", "drops table xc_caseN_items"],
      ["alter table $t_items alter column size type bigint", "changes the type of xc_caseN_items.size from int4 to int8"],
      ["alter table $t_items alter column note set not null", "makes xc_caseN_items.note NOT NULL"],
      ["alter table $t_items alter column kind drop default", "drops the default of the required column xc_caseN_items.kind"],
      ["alter table $t_items add column owner text not null", "adds xc_caseN_items.owner NOT NULL without a default"],
      ["alter table $t_items add constraint $t_size check (size > 0)", "adds constraint xc_caseN_items:xc_caseN_size (CHECK ((size > 0))) on existing columns"],
      ["create unique index $t_items_note on $t_items (note)", "adds unique index xc_caseN_items:xc_caseN_items_note"],
      ["drop index $t_items_name", "drops unique index xc_caseN_items:xc_caseN_items_name"],
      ["create function $t_f() returns trigger language plpgsql as 'begin return new; end' ;; create trigger $t_tg before insert on $t_items for each row execute function $t_f()", "adds trigger xc_caseN_items:xc_caseN_tg"],
    ])("refuses `%s`", async (statement, what) => {
      const problems = await run((t) => step(t, statement));
      const t = `xc_case${n}`;
      expect(problems.join("\n")).toContain(what.replaceAll("xc_caseN", t));
      expect(problems.every((p) => p.includes("is not in its contract"))).toBe(true);
    });

    it("accepts a contract step that drops what an earlier migration retired and the code no longer declares", async () => {
      const problems = await run((t) => ({
        ...base(t),
        "2-retire": { up: async () => undefined, retires: [`${t}_items.note`] },
        "3-contract": { up: async (db) => void (await sql.raw(`alter table ${t}_items drop column note`).execute(db)), contract: [`${t}_items.note`] },
      }));
      expect(problems).toEqual([]);
    });

    it("refuses a contract of what no earlier migration retired, and a retirement the code still declares", async () => {
      const t = `xc_case${n + 1}`;
      const unretired = await run((t) => step(t, "alter table $t_items drop column note", { contract: [`${t}_items.note`] }));
      expect(unretired).toEqual([`${t}-2-step contracts '${t}_items.note', which no earlier migration retires`]);
      const t2 = `xc_case${n + 1}`;
      const stillUsed = await run(
        (t) => ({ ...base(t), "2-retire": { up: async () => undefined, retires: [`${t}_items.note`] } }),
        new Map([[`${t2}_items`, new Set(["id", "name", "note"])]]),
      );
      expect(stillUsed).toEqual([`${t2}-2-retire retires '${t2}_items.note', which src/db/tables.ts still declares`]);
    });
  });
});
