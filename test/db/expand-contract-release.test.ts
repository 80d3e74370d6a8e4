/**
 * A rolling upgrade, one release step: the database has been migrated by
 * the new release while instances of the previous one keep running and
 * restart. Stand-in for the previous release: this code with the newest
 * migration left out of its migration set (the module is replaced for this
 * file), so it sees a database one migration ahead of it. It must start —
 * with auto-migration on (development, staging, embedded) and off
 * (production) — and serve the identity flows on that schema; a migration
 * it does not know among the ones it knows is still refused.
 */
import { sql, type Migration } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { migrateToLatest, openDatabase, pendingAppMigrations, pendingMigrations } from "../../src/db/index.js";
import { migrations } from "../../src/db/migrations/index.js";
import type * as MigrationSet from "../../src/db/migrations/index.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { makeAdmin } from "../helpers/identity.js";
import { createTestEnv, testModes } from "../helpers/modes.js";

const all = await vi.importActual<typeof MigrationSet>("../../src/db/migrations/index.js");
const NEWEST = Object.keys(all.migrations).sort().at(-1)!;

vi.mock("../../src/db/migrations/index.js", async (importOriginal) => {
  const actual = await importOriginal<typeof MigrationSet>();
  const names = Object.keys(actual.migrations).sort();
  return { migrations: Object.fromEntries(names.slice(0, -1).map((n) => [n, actual.migrations[n]!])) };
});

describe.each(testModes())("the previous release on the newest schema (%s)", (mode) => {
  it("knows one migration fewer than the database holds", async () => {
    expect(Object.keys(migrations)).not.toContain(NEWEST);
    expect(Object.keys(migrations)).toHaveLength(Object.keys(all.migrations).length - 1);
  });

  for (const autoMigrate of ["true", "false"]) {
    describe(`RAMPART_AUTO_MIGRATE=${autoMigrate}`, () => {
      let t: TestApp;
      beforeAll(async () => {
        t = await createTestApp(mode, { env: { RAMPART_AUTO_MIGRATE: autoMigrate } });
      });
      afterAll(() => t.close());

      it("starts on the database a newer release migrated, with nothing to apply", async () => {
        const applied = await sql<{ name: string }>`select name from rampart_migrations`.execute(t.runtime.db.kysely);
        expect(applied.rows.map((r) => r.name)).toContain(NEWEST);
        expect(await pendingMigrations(t.runtime.db.kysely)).toEqual([]);
        expect(await migrateToLatest(t.runtime.db.kysely)).toEqual({ applied: [], appApplied: [] });
      });

      it("serves register, login, refresh, API keys, logout, admin lists and audit verification", async () => {
        const u = await registerAndLogin(t.app);
        const me = await call(t.app, { method: "GET", url: "/v1/me", token: u.accessToken });
        expect(me.statusCode).toBe(200);
        const refreshed = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: u.refreshToken } });
        expect(refreshed.statusCode).toBe(200);
        // Rotated: a new refresh token, which refreshes again.
        expect(refreshed.data.refreshToken).not.toBe(u.refreshToken);
        expect((await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: refreshed.data.refreshToken } })).statusCode).toBe(200);
        const token = refreshed.data.accessToken as string;
        const key = await call(t.app, { method: "POST", url: "/v1/api-keys", token, body: { name: "ci", scopes: ["me:read"] } });
        expect(key.statusCode).toBe(201);
        expect((await call(t.app, { method: "GET", url: "/v1/me", token: key.data.key as string })).statusCode).toBe(200);
        expect((await call(t.app, { method: "POST", url: "/v1/auth/logout", token })).statusCode).toBe(200);
        expect((await call(t.app, { method: "GET", url: "/v1/me", token })).statusCode).toBe(401);

        const admin = await registerAndLogin(t.app);
        await makeAdmin(t.app, t.runtime, admin.userId);
        const adminToken = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken as string;
        const users = await call(t.app, { method: "GET", url: "/v1/admin/users", token: adminToken });
        expect(users.statusCode).toBe(200);
        expect((users.data.users as { id: string }[]).map((x) => x.id)).toContain(u.userId);
        const verify = await call(t.app, { method: "GET", url: "/v1/admin/audit/verify", token: adminToken });
        expect(verify.data).toMatchObject({ ok: true });
      });
    });
  }

  it("the app's own migrations: its previous release starts on a database its newer release migrated", async () => {
    const env = await createTestEnv(mode);
    const db = await openDatabase(env.config);
    try {
      const notes: Migration = { up: async (k) => void (await sql`create table app_notes (id text primary key)`.execute(k)) };
      const tags: Migration = { up: async (k) => void (await sql`alter table app_notes add column tag text`.execute(k)) };
      expect(await migrateToLatest(db.kysely, { "001-notes": notes, "002-tags": tags })).toEqual({ applied: [], appApplied: ["001-notes", "002-tags"] });
      expect(await migrateToLatest(db.kysely, { "001-notes": notes })).toEqual({ applied: [], appApplied: [] });
      expect(await pendingAppMigrations(db.kysely, { "001-notes": notes })).toEqual([]);
    } finally {
      await db.close();
      await env.cleanup();
    }
  });

  it("still refuses a database holding a migration it does not know among the ones it knows", async () => {
    const env = await createTestEnv(mode);
    const db = await openDatabase(env.config);
    try {
      await sql`insert into rampart_migrations (name, timestamp) values ('0009-elsewhere', ${new Date().toISOString()})`.execute(db.kysely);
      await expect(migrateToLatest(db.kysely)).rejects.toThrow(/corrupted migrations: previously executed migration \S+ is missing/);
    } finally {
      await db.close();
      await env.cleanup();
    }
  });
});
