// Threat: a stolen refresh token. Rotation makes every refresh token single-use, so
// a thief and the owner cannot both keep refreshing: a token used again after the
// grace window for concurrent refreshes is taken as theft and ends the whole session
// (its successor and its access tokens). Tokens die with their session's absolute
// expiry, its revocation and the account's deactivation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/runtime/index.js";
import { call, credentials, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";

const GRACE_MS = 10_000; // REFRESH_REUSE_GRACE_SECONDS default
const TTL_MS = 7 * 86_400_000; // REFRESH_TOKEN_TTL_DAYS default

describe.each(testModes())("refresh tokens and sessions (%s)", (mode) => {
  let t: TestApp;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    t = await createTestApp(mode, { clock });
  });
  afterAll(() => t.close());

  const refresh = (refreshToken: string) => call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken } });

  it("a refresh token rotates once; repeating it within the grace window returns the same successor", async () => {
    const u = await registerAndLogin(t.app);
    const first = await refresh(u.refreshToken);
    expect(first.statusCode).toBe(200);
    expect(first.data.refreshToken).not.toBe(u.refreshToken);
    // The last moment of the grace window still counts as a concurrent refresh.
    clock.advance(GRACE_MS - 1);
    const again = await refresh(u.refreshToken);
    expect(again.statusCode).toBe(200);
    expect(again.data.refreshToken).toBe(first.data.refreshToken);
    // The successor is a working token of the same session.
    const next = await refresh(first.data.refreshToken);
    expect(next.statusCode).toBe(200);
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: next.data.accessToken })).statusCode).toBe(200);
  });

  it("concurrent refreshes with one token all get the same successor", async () => {
    const u = await registerAndLogin(t.app);
    const results = await Promise.all(Array.from({ length: 4 }, () => refresh(u.refreshToken)));
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    expect(new Set(results.map((r) => r.data.refreshToken)).size).toBe(1);
  });

  it("reuse after the grace window ends the session, and only that session, and is recorded", async () => {
    const u = await registerAndLogin(t.app);
    const other = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } });
    const first = await refresh(u.refreshToken);
    expect(first.statusCode).toBe(200);
    // Past the window by the runtime clock, which decides (the successor may still be in Redis).
    clock.advance(GRACE_MS + 1);
    const replay = await refresh(u.refreshToken);
    expect(replay.statusCode).toBe(401);
    expect(replay.code).toBe("REFRESH_TOKEN_REUSED");
    // The successor and the session's access tokens are dead too.
    const successor = await refresh(first.data.refreshToken);
    expect(successor.statusCode).toBe(401);
    expect(successor.code).toBe("TOKEN_REVOKED");
    expect((await call(t.app, { method: "GET", url: "/v1/me", token: first.data.accessToken })).code).toBe("TOKEN_REVOKED");
    // The user's other session goes on.
    expect((await refresh(other.data.refreshToken)).statusCode).toBe(200);
    expect(t.logs.records().some((r) => r.event === "auth.refresh.reused")).toBe(true);
  });

  it("a refresh token is refused from its session's absolute expiry on, successors included", async () => {
    const u = await registerAndLogin(t.app);
    clock.advance(TTL_MS - 1);
    const last = await refresh(u.refreshToken);
    expect(last.statusCode).toBe(200);
    clock.advance(1);
    const expired = await refresh(last.data.refreshToken);
    expect(expired.statusCode).toBe(401);
    expect(expired.code).toBe("UNAUTHENTICATED");
  });

  it("a logged-out session's refresh token is TOKEN_REVOKED; an unknown one is UNAUTHENTICATED", async () => {
    const u = await registerAndLogin(t.app);
    expect((await call(t.app, { method: "POST", url: "/v1/auth/logout", token: u.accessToken })).statusCode).toBe(200);
    const revoked = await refresh(u.refreshToken);
    expect(revoked.statusCode).toBe(401);
    expect(revoked.code).toBe("TOKEN_REVOKED");
    const unknown = await refresh(`${u.refreshToken.slice(0, -2)}xx`);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.code).toBe("UNAUTHENTICATED");
  });

  it("a disabled account's refresh token is refused", async () => {
    const u = await registerAndLogin(t.app);
    await t.runtime.db.kysely.updateTable("rampart_users").set({ status: "disabled" }).where("id", "=", u.userId).execute();
    const res = await refresh(u.refreshToken);
    expect(res.statusCode).toBe(401);
    expect(res.code).toBe("UNAUTHENTICATED");
  });

  it("the session list shows live sessions newest first, with their client and last use; ended ones drop out", async () => {
    const creds = credentials();
    expect((await call(t.app, { method: "POST", url: "/v1/auth/register", body: creds })).statusCode).toBe(202);
    const login = (ua: string) => call(t.app, { method: "POST", url: "/v1/auth/login", body: creds, headers: { "user-agent": ua } });
    const first = await login("agent-one");
    clock.advance(1_000);
    const second = await login("agent-two");
    clock.advance(1_000);
    const third = await login("agent-three");
    clock.advance(5_000);
    const rotated = await refresh(second.data.refreshToken);
    const list = async () => (await call(t.app, { method: "GET", url: "/v1/auth/sessions", token: third.data.accessToken })).data.sessions as any[];
    const sessions = await list();
    expect(sessions.map((s) => s.userAgent)).toEqual(["agent-three", "agent-two", "agent-one"]);
    expect(sessions.map((s) => s.current)).toEqual([true, false, false]);
    expect(sessions[1]).toMatchObject({ ip: "127.0.0.1", mfa: false, lastUsedAt: new Date(clock.now()).toISOString() });
    expect(sessions[0].lastUsedAt).toBe(sessions[0].createdAt);
    expect(Date.parse(sessions[0].expiresAt) - Date.parse(sessions[0].createdAt)).toBe(TTL_MS);

    // Ending one session removes it from the list; another user's session id is not found.
    const del = await call(t.app, { method: "DELETE", url: `/v1/auth/sessions/${sessions[1].id}`, token: third.data.accessToken });
    expect(del.statusCode).toBe(200);
    expect((await refresh(rotated.data.refreshToken)).code).toBe("TOKEN_REVOKED");
    expect((await list()).map((s) => s.userAgent)).toEqual(["agent-three", "agent-one"]);
    const stranger = await registerAndLogin(t.app);
    expect((await call(t.app, { method: "DELETE", url: `/v1/auth/sessions/${sessions[0].id}`, token: stranger.accessToken })).code).toBe("NOT_FOUND");

    // Logout-all ends the two left and counts them; a new login is then the only session.
    const all = await call(t.app, { method: "POST", url: "/v1/auth/logout-all", token: third.data.accessToken });
    expect(all.data).toEqual({ sessionsRevoked: 2 });
    expect((await refresh(first.data.refreshToken)).code).toBe("TOKEN_REVOKED");
    const relogin = await login("agent-four");
    expect((await call(t.app, { method: "GET", url: "/v1/auth/sessions", token: relogin.data.accessToken })).data.sessions.map((s: any) => s.userAgent)).toEqual(["agent-four"]);
  });

  it("a session past its expiry is no longer listed", async () => {
    const u = await registerAndLogin(t.app);
    clock.advance(TTL_MS - 1_000);
    const late = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } });
    clock.advance(1_000);
    const sessions = (await call(t.app, { method: "GET", url: "/v1/auth/sessions", token: late.data.accessToken })).data.sessions as any[];
    expect(sessions).toHaveLength(1);
    expect(sessions[0].current).toBe(true);
  });
});

describe.each(testModes())("refresh tokens without a grace window (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode, { env: { REFRESH_REUSE_GRACE_SECONDS: "0" } });
  });
  afterAll(() => t.close());

  it("any second use of a refresh token, even at once, is reuse", async () => {
    const u = await registerAndLogin(t.app);
    const first = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: u.refreshToken } });
    expect(first.statusCode).toBe(200);
    const again = await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: u.refreshToken } });
    expect(again.code).toBe("REFRESH_TOKEN_REUSED");
    expect((await call(t.app, { method: "POST", url: "/v1/auth/refresh", body: { refreshToken: first.data.refreshToken } })).code).toBe("TOKEN_REVOKED");
  });
});
