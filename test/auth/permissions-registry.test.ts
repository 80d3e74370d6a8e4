/**
 * The permission registry: the app's permissions and roles next to the
 * built-in ones, validated at start; every consumer (token and API-key
 * authentication, API-key scopes, admin role changes, guards) reads it; a
 * guard naming a permission nobody declared fails the app's start.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermissionRegistry, PERMISSIONS, BUILT_IN_ROLES, type Permission } from "../../src/auth/permissions.js";
import { ok, rampart, type Runtime } from "../../src/index.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { makeAdmin } from "../helpers/identity.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

// This project declares no AppPermissions: an app that does writes guard("notes:read") without a cast.
const notes = { read: "notes:read" as Permission, write: "notes:write" as Permission };
const APP = { permissions: ["notes:read", "notes:write", "reports:run"], roles: { user: ["notes:read"], editor: ["notes:read", "notes:write", "files:read"] } };

describe("PermissionRegistry", () => {
  const registry = PermissionRegistry.create(APP);

  it("holds the built-in permissions and the app's", () => {
    for (const p of [...PERMISSIONS, ...APP.permissions]) expect(registry.has(p), p).toBe(true);
    expect(registry.has("notes:delete")).toBe(false);
    expect(registry.roleNames()).toEqual(["user", "admin", "editor"]);
  });

  it("grants the app's permissions to the roles that name them, and every one to admin", () => {
    expect([...registry.permissionsOf(["user"])].sort()).toEqual([...BUILT_IN_ROLES.user, "notes:read"].sort());
    expect([...registry.permissionsOf(["editor"])].sort()).toEqual(["files:read", "notes:read", "notes:write"]);
    const admin = registry.permissionsOf(["admin"]);
    for (const p of [...PERMISSIONS, ...APP.permissions]) expect(admin.has(p as Permission), p).toBe(true);
    // Unknown role names grant nothing.
    expect(registry.permissionsOf(["owner"]).size).toBe(0);
  });

  it("keeps the built-in table when the app declares nothing", () => {
    const plain = PermissionRegistry.create();
    expect(plain.all()).toEqual([...PERMISSIONS]);
    expect([...plain.permissionsOf(["user"])].sort()).toEqual([...BUILT_IN_ROLES.user].sort());
    expect(plain.sessionOnly("mfa:write")).toBe(true);
    expect(plain.sessionOnly("me:read")).toBe(false);
  });

  it.each([
    [{ permissions: ["Notes:Read"] }, "'Notes:Read' is not a permission name"],
    [{ permissions: ["notes"] }, "'notes' is not a permission name"],
    [{ permissions: ["me:read"] }, "'me:read' is a built-in permission"],
    [{ permissions: ["notes:read", "notes:read"] }, "'notes:read' is declared twice"],
    [{ roles: { editor: ["notes:read"] } }, "roles.editor: unknown permission 'notes:read'"],
    [{ roles: { "Bad Role": [] } }, "'Bad Role' is not a role name"],
    [{ roles: { user: ["users:roles"] } }, "roles.user: 'users:roles' is a built-in permission the built-in role 'user' does not hold"],
  ])("refuses %j naming the culprit", (options, message) => {
    expect(() => PermissionRegistry.create(options)).toThrow(message);
  });
});

describe.each(testModes())("app permissions through the rampart plugin (%s)", (mode) => {
  let env: TestEnv;
  let runtime: Runtime;
  let app: FastifyInstance;
  beforeAll(async () => {
    env = await createTestEnv(mode);
    ({ runtime } = await createTestRuntime(env));
    app = Fastify();
    await app.register(rampart, { runtime, routes: { identity: true, admin: true, apiKeys: true }, ...APP });
    app.get("/notes", { preHandler: app.rampart.guard(notes.read) }, async (request) => ok(request, { notes: [] }));
    app.post("/notes", { preHandler: app.rampart.guard(notes.read, notes.write) }, async (request) => ok(request, { created: true }));
    app.get("/whoami", { preHandler: app.rampart.guard() }, async (request) => ok(request, { userId: request.principal?.userId }));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await runtime.close();
    await env.cleanup();
  });

  it("exposes the registry on app.rampart", () => {
    expect(app.rampart.permissions.has("notes:write")).toBe(true);
    expect(app.rampart.permissions).toBe(app.identity.permissions);
  });

  it("lets a user through the app permission granted to `user`, not the editor's", async () => {
    const user = await registerAndLogin(app);
    expect((await call(app, { method: "GET", url: "/notes", token: user.accessToken })).statusCode).toBe(200);
    expect((await call(app, { method: "GET", url: "/whoami", token: user.accessToken })).data.userId).toBe(user.userId);
    const write = await call(app, { method: "POST", url: "/notes", token: user.accessToken });
    expect(write.statusCode).toBe(403);
    expect(write.code).toBe("FORBIDDEN");
    expect((await call(app, { method: "GET", url: "/whoami" })).statusCode).toBe(401);
  });

  it("gives an app role through the admin API; an unknown role is refused by name", async () => {
    const admin = await registerAndLogin(app);
    await makeAdmin(app, runtime, admin.userId);
    const adminToken = (await call(app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken as string;
    // The administrator holds the app's permissions too.
    expect((await call(app, { method: "POST", url: "/notes", token: adminToken })).statusCode).toBe(200);

    const user = await registerAndLogin(app);
    const unknown = await call(app, { method: "PUT", url: `/v1/admin/users/${user.userId}/roles`, token: adminToken, body: { roles: ["user", "owner"] } });
    expect(unknown.statusCode).toBe(400);
    expect(JSON.stringify(unknown.json().details)).toContain("owner");

    const set = await call(app, { method: "PUT", url: `/v1/admin/users/${user.userId}/roles`, token: adminToken, body: { roles: ["editor"] } });
    expect(set.statusCode).toBe(200);
    const editor = (await call(app, { method: "POST", url: "/v1/auth/login", body: { email: user.email, password: user.password } })).data.accessToken as string;
    expect((await call(app, { method: "POST", url: "/notes", token: editor })).statusCode).toBe(200);
    // The editor role holds no built-in `me:read`.
    expect((await call(app, { method: "GET", url: "/v1/me", token: editor })).statusCode).toBe(403);
  });

  it("scopes API keys to app permissions the owner holds, and no others", async () => {
    const user = await registerAndLogin(app);
    const created = await call(app, { method: "POST", url: "/v1/api-keys", token: user.accessToken, body: { name: "notes", scopes: ["notes:read"] } });
    expect(created.statusCode).toBe(201);
    const key = created.data.key as string;
    expect((await call(app, { method: "GET", url: "/notes", token: key })).statusCode).toBe(200);
    // The key holds only its scopes: not even the owner's me:read.
    expect((await call(app, { method: "GET", url: "/v1/me", token: key })).statusCode).toBe(403);

    const beyond = await call(app, { method: "POST", url: "/v1/api-keys", token: user.accessToken, body: { name: "w", scopes: ["notes:write"], password: user.password } });
    expect(beyond.statusCode).toBe(400);
    expect(JSON.stringify(beyond.json().details)).toContain("Unknown scope 'notes:write'");
  });

  it("asks for the password before minting a key with an app permission the `user` role lacks", async () => {
    const admin = await registerAndLogin(app);
    await makeAdmin(app, runtime, admin.userId);
    const token = (await call(app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken as string;
    const bare = await call(app, { method: "POST", url: "/v1/api-keys", token, body: { name: "reports", scopes: ["reports:run"] } });
    expect(bare.statusCode).toBeGreaterThanOrEqual(400);
    expect(bare.statusCode).toBeLessThan(500);
    const proven = await call(app, { method: "POST", url: "/v1/api-keys", token, body: { name: "reports", scopes: ["reports:run"], password: admin.password } });
    expect(proven.statusCode).toBe(201);
  });

  it("fails the start when a guard names a permission nobody declared", async () => {
    const other = Fastify();
    await other.register(rampart, { runtime, routes: { identity: false }, ...APP });
    other.get("/reports", { preHandler: other.rampart.guard(notes.read, "reports:delete" as Permission) }, async () => "never");
    await expect(other.ready()).rejects.toThrow(/unknown permission 'reports:delete' \(GET \/reports\)/);
    await other.close();
  });

  it("fails the start on an invalid app permission, naming it", async () => {
    const other = Fastify();
    await expect(other.register(rampart, { runtime, routes: { identity: false }, permissions: ["notes:read", "NOTES"] })).rejects.toThrow(/'NOTES' is not a permission name/);
    await other.close();
  });
});
